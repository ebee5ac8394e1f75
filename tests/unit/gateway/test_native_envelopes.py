"""Gemini's and Bedrock's public routes at the gateway: paths, caps, the forwarded body, keys, and usage sniffed."""

from __future__ import annotations

import msgspec
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tollway.fakellm.eventstream import event as event_frame
from tollway.gateway.domain.native_envelopes import (
    NATIVE_ROUTES,
    forwarded_body,
    output_cap,
    sigv4_access_key,
)
from tollway.gateway.domain.rejections import BadRequestError
from tollway.gateway.domain.usage import Usage, UsageTap


def matched(path: str) -> tuple[str, str] | None:
    for template, route in NATIVE_ROUTES.items():
        found = route.pattern.fullmatch(path)
        if found:
            return template, found.group("model")
    return None


def test_paths_name_the_model_even_with_colons_and_slashes() -> None:
    assert matched("/v1beta/models/gemini-2.0-flash:streamGenerateContent") == (
        "/v1beta/models/{model}:streamGenerateContent",
        "gemini-2.0-flash",
    )
    assert matched("/v1/models/org/tuned:v2:generateContent") == ("/v1/models/{model}:generateContent", "org/tuned:v2")
    assert matched("/model/anthropic.claude-3-5-haiku-20241022-v1:0/converse-stream") == (
        "/model/{modelId}/converse-stream",
        "anthropic.claude-3-5-haiku-20241022-v1:0",
    )
    assert matched("/v1/models/gpt-4o-mini") is None  # GET /v1/models/{id} stays the catalogue's
    assert matched("/model/m/invoke") is None
    assert {route.stream for route in NATIVE_ROUTES.values() if route.template.endswith("converse")} == {False}


def test_the_cap_comes_from_each_apis_own_field() -> None:
    assert output_cap("gemini", b'{"generationConfig": {"maxOutputTokens": 7}}') == 7
    assert (
        output_cap("gemini", b'{"generation_config": {"max_output_tokens": 8}}') is None
    )  # the model's cap: never less than served
    assert output_cap("gemini", b'{"generation_config": {"maxOutputTokens": 9}}') == 9
    assert output_cap("bedrock", b'{"inferenceConfig": {"maxTokens": 5}, "messages": []}') == 5
    assert output_cap("bedrock", b"{}") is None
    for bad in (b"[]", b"{not json", b'{"inferenceConfig": {"maxTokens": 0}}'):
        with pytest.raises(BadRequestError):
            output_cap("bedrock", bad)


def test_the_forwarded_body_keeps_the_clients_body_whole() -> None:
    body = b'{"contents": [{"parts": [{"text": "hi \\"there\\""}]}]}'
    forwarded = msgspec.json.decode(forwarded_body("gemini-2.0-flash", stream=True, body=body))
    assert forwarded == {"model": "gemini-2.0-flash", "stream": True, "request": msgspec.json.decode(body)}


def test_a_sigv4_signature_carries_the_tollway_key_as_its_access_key_id() -> None:
    request = AWSRequest(method="POST", url="http://gw/model/m/converse", data=b"{}", headers={})
    SigV4Auth(Credentials("tw_abc123", "any secret"), "bedrock", "us-east-1").add_auth(request)
    assert sigv4_access_key(request.headers["Authorization"]) == "tw_abc123"
    assert sigv4_access_key("Bearer tw_abc123") is None
    assert sigv4_access_key("AWS4-HMAC-SHA256 Signature=x") is None


def test_usage_is_sniffed_from_gemini_and_bedrock_answers() -> None:
    gemini = UsageTap(stream=False)
    gemini.feed(
        b'{"candidates":[],"usageMetadata":{"promptTokenCount":9,"candidatesTokenCount":4,"thoughtsTokenCount":3}}'
    )
    converse = UsageTap(stream=False)
    converse.feed(b'{"usage":{"inputTokens":5,"outputTokens":2,"cacheReadInputTokens":7,"cacheWriteInputTokens":1}}')
    assert (gemini.usage(), converse.usage()) == (Usage(9, 7), Usage(13, 2))


def test_usage_of_streams_is_known_only_once_they_ended() -> None:
    chunk = b'data: {"candidates":[{"content":{"parts":[{"text":"a"}]}}]}\r\n\r\n'
    usage = b'"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":1}'
    last = b'data: {"candidates":[{"finishReason":"STOP"}],' + usage + b"}\r\n\r\n"
    gemini = UsageTap(stream=True)
    gemini.feed(chunk)
    assert gemini.usage() is None
    gemini.feed(last)
    assert gemini.usage() == Usage(3, 1)

    converse = UsageTap(stream=True)
    converse.feed(event_frame("contentBlockDelta", b'{"delta":{"text":"metadata"}}'))
    assert converse.usage() is None  # the word in the text is not the closing event
    converse.feed(event_frame("metadata", b'{"usage":{"inputTokens":3,"outputTokens":1},"metrics":{"latencyMs":0}}'))
    assert converse.usage() == Usage(3, 1)
