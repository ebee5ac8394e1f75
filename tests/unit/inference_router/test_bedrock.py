"""The Bedrock adapter: Converse bodies, SigV4 the fake accepts, responses and the binary event stream to deltas."""

from __future__ import annotations

import json

import msgspec
import pytest
from botocore.credentials import Credentials

from tests.unit.inference_router.conftest import Send
from tollway.fakellm import eventstream
from tollway.fakellm.sigv4 import DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY
from tollway.inference_router.adapters.aws_credentials import AwsCredentialSource
from tollway.inference_router.adapters.bedrock import BedrockUpstream
from tollway.inference_router.domain.bedrock_body import URL_IMAGE_NOTE, bedrock_request_wire
from tollway.inference_router.domain.canonical import Usage
from tollway.inference_router.domain.catalog import Deployment, Model, Prices, Provider, parse_catalog
from tollway.inference_router.domain.deltas import (
    Finish,
    MessageStart,
    TextDelta,
    ToolCallArguments,
    ToolCallStart,
    UsageReport,
)
from tollway.inference_router.domain.errors import CatalogError, UpstreamProtocolError, UpstreamStreamError
from tollway.inference_router.domain.openai_request import decode_openai_request
from tollway.inference_router.domain.routing import plan_attempts, strategy_named
from tollway.inference_router.domain.upstream import UpstreamRequest

PROVIDER = Provider(id="bedrock", kind="bedrock", base_url="http://fake.local", region="eu-west-1")
MODEL = "anthropic.claude-3-5-haiku-20241022-v1:0"
_encode = msgspec.json.Encoder().encode


def adapter(secret: str = DEFAULT_SECRET_ACCESS_KEY) -> BedrockUpstream:
    credentials = AwsCredentialSource(Credentials(DEFAULT_ACCESS_KEY_ID, secret))
    return BedrockUpstream(PROVIDER, credentials=credentials)


def with_host(upstream: UpstreamRequest) -> UpstreamRequest:
    """The in-process fake gets no Host header unless given one; an HTTP client always sends it (and it is signed)."""
    return msgspec.structs.replace(upstream, headers=(*upstream.headers, ("host", "fake.local")))


def openai(**body: object) -> bytes:
    return json.dumps({"model": "m", "messages": [{"role": "user", "content": "hello there"}], **body}).encode()


def test_the_conversation_becomes_alternating_converse_turns_with_hoisted_system() -> None:
    request = decode_openai_request(
        json.dumps(
            {
                "model": "m",
                "messages": [
                    {"role": "system", "content": "be brief"},
                    {"role": "user", "content": "weather?"},
                    {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": "call.1",
                                "type": "function",
                                "function": {"name": "get", "arguments": '{"city":"Oslo"}'},
                            }
                        ],
                    },
                    {"role": "tool", "tool_call_id": "call.1", "content": "rain"},
                    {"role": "user", "content": "thanks"},
                ],
                "temperature": 1.7,
                "stop": ["END"],
            }
        ).encode()
    )
    wire = msgspec.to_builtins(bedrock_request_wire(request, model=MODEL, default_max_tokens=64))

    assert wire["system"] == [{"text": "be brief"}]
    assert wire["messages"] == [
        {"role": "user", "content": [{"text": "weather?"}]},
        {
            "role": "assistant",
            "content": [{"toolUse": {"toolUseId": "call_1", "name": "get", "input": {"city": "Oslo"}}}],
        },
        {
            "role": "user",
            "content": [{"toolResult": {"toolUseId": "call_1", "content": [{"text": "rain"}]}}, {"text": "thanks"}],
        },
    ]
    assert wire["inferenceConfig"] == {"maxTokens": 64, "temperature": 1.0, "stopSequences": ["END"]}


def test_tools_choice_top_k_and_images_map_to_converse_fields() -> None:
    tool = {"type": "function", "function": {"name": "f", "description": "d", "parameters": {"type": "object"}}}
    parts = [
        {"type": "text", "text": "look"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
    ]
    body = json.dumps(
        {"model": "m", "messages": [{"role": "user", "content": parts}], "tools": [tool], "tool_choice": "required"}
    )
    request = msgspec.structs.replace(decode_openai_request(body.encode()), top_k=5)

    wire = msgspec.to_builtins(bedrock_request_wire(request, model="us." + MODEL, default_max_tokens=10))

    assert wire["toolConfig"] == {
        "tools": [{"toolSpec": {"name": "f", "inputSchema": {"json": {"type": "object"}}, "description": "d"}}],
        "toolChoice": {"any": {}},
    }
    assert wire["additionalModelRequestFields"] == {"top_k": 5}
    content = wire["messages"][0]["content"]
    assert content[1] == {"image": {"format": "png", "source": {"bytes": "iVBORw0KGgo="}}}
    assert content[2] == {"text": URL_IMAGE_NOTE + "https://example.com/cat.png"}


async def test_a_signed_converse_call_is_accepted_and_parsed(fakellm: Send) -> None:
    upstream = adapter().build_request(decode_openai_request(openai()), upstream_model=MODEL, default_max_tokens=50)

    assert upstream.url == "http://fake.local/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse"
    headers = dict(upstream.headers)
    assert headers["authorization"].startswith(f"AWS4-HMAC-SHA256 Credential={DEFAULT_ACCESS_KEY_ID}/")
    assert "/eu-west-1/bedrock/aws4_request" in headers["authorization"]
    status, _, chunks = await fakellm(with_host(upstream))
    assert status == 200, chunks
    response = adapter().parse_response(b"".join(chunks))
    assert response.content is not None
    assert response.content.startswith("tok0 tok1")
    assert response.id.startswith("msg_bdrk_")
    assert response.usage == Usage(prompt_tokens=3, completion_tokens=20)


async def test_a_wrong_secret_is_refused_by_the_fake(fakellm: Send) -> None:
    upstream = adapter("wrong").build_request(
        decode_openai_request(openai()), upstream_model=MODEL, default_max_tokens=50
    )

    status, headers, chunks = await fakellm(with_host(upstream))

    assert (status, headers["x-amzn-errortype"]) == (403, "InvalidSignatureException")
    assert "signature" in adapter().error_message(b"".join(chunks))


async def test_the_event_stream_decodes_however_the_bytes_are_split(fakellm: Send) -> None:
    request = decode_openai_request(openai(stream=True, max_tokens=3))
    upstream = adapter().build_request(request, upstream_model=MODEL + "+cache_read=7", default_max_tokens=50)
    assert upstream.url.endswith("/converse-stream")
    status, headers, chunks = await fakellm(with_host(upstream))
    body = b"".join(chunks)
    assert (status, headers["content-type"]) == (200, "application/vnd.amazon.eventstream")

    for size in (1, 5, 64, len(body)):
        decoder = adapter().stream_decoder()
        deltas = [d for i in range(0, len(body), size) for d in decoder.feed(body[i : i + size])]
        deltas += decoder.close()
        assert decoder.finished
        assert isinstance(deltas[0], MessageStart)
        assert [d.text for d in deltas if isinstance(d, TextDelta)] == ["tok0", " tok1", " tok2"]
        assert deltas[-2:] == [
            Finish(reason="length"),
            UsageReport(Usage(prompt_tokens=10, completion_tokens=3, cache_read_tokens=7)),
        ]


def test_tool_use_stream_events_become_tool_call_deltas() -> None:
    frames = [
        eventstream.event("messageStart", b'{"role":"assistant"}'),
        eventstream.event("contentBlockDelta", b'{"contentBlockIndex":0,"delta":{"text":"Let me check."}}'),
        eventstream.event("contentBlockStop", b'{"contentBlockIndex":0}'),
        eventstream.event(
            "contentBlockStart", b'{"contentBlockIndex":1,"start":{"toolUse":{"toolUseId":"t1","name":"get"}}}'
        ),
        eventstream.event("contentBlockDelta", b'{"contentBlockIndex":1,"delta":{"toolUse":{"input":"{\\"city\\":"}}}'),
        eventstream.event("contentBlockDelta", b'{"contentBlockIndex":1,"delta":{"toolUse":{"input":"\\"Oslo\\"}"}}}'),
        eventstream.event("messageStop", b'{"stopReason":"tool_use"}'),
    ]
    decoder = adapter().stream_decoder()

    deltas = decoder.feed(b"".join(frames))

    assert deltas[1:] == [
        TextDelta("Let me check."),
        ToolCallStart(index=0, id="t1", name="get"),
        ToolCallArguments(index=0, arguments='{"city":'),
        ToolCallArguments(index=0, arguments='"Oslo"}'),
        Finish(reason="tool_calls"),
    ]


def test_an_exception_inside_the_stream_carries_its_status() -> None:
    decoder = adapter().stream_decoder()
    decoder.feed(eventstream.event("messageStart", b'{"role":"assistant"}'))

    with pytest.raises(UpstreamStreamError) as raised:
        decoder.feed(eventstream.exception("throttlingException", b'{"message":"slow down"}'))

    assert (raised.value.upstream_status, str(raised.value)) == (429, "slow down")


def test_corrupt_frames_and_a_stream_cut_before_message_stop_are_protocol_errors() -> None:
    frame = bytearray(eventstream.event("messageStart", b'{"role":"assistant"}'))
    frame[-1] ^= 0xFF  # break the message CRC
    with pytest.raises(UpstreamProtocolError):
        adapter().stream_decoder().feed(bytes(frame))

    cut = adapter().stream_decoder()
    cut.feed(eventstream.event("messageStart", b'{"role":"assistant"}'))
    with pytest.raises(UpstreamProtocolError):
        cut.close()


def test_a_bedrock_api_key_is_sent_as_a_bearer_token_instead_of_sigv4() -> None:
    upstream = BedrockUpstream(PROVIDER, api_key="bedrock-api-key-1").build_request(
        decode_openai_request(openai()), upstream_model=MODEL, default_max_tokens=5
    )

    headers = dict(upstream.headers)
    assert headers["authorization"] == "Bearer bedrock-api-key-1"
    assert "x-amz-date" not in headers


def test_a_bedrock_provider_needs_a_region() -> None:
    catalog = b"""
providers: [{id: b, kind: bedrock, base_url: "https://bedrock-runtime.us-east-1.amazonaws.com"}]
models: []
"""
    with pytest.raises(CatalogError, match=r"providers\[0\]\.region: required"):
        parse_catalog(catalog)


def test_bedrock_only_plans_only_bedrock_deployments_and_its_first_is_no_fallback() -> None:
    providers = {
        "plan": Provider(id="plan", kind="anthropic", base_url="http://a"),
        "bedrock": PROVIDER,
        "bedrock-2": Provider(id="bedrock-2", kind="bedrock", base_url="http://b", region="us-west-2"),
    }
    model = Model(
        id="claude",
        context_window=10,
        max_output_tokens=5,
        deployments=(
            Deployment(provider="plan", upstream_model="claude"),
            Deployment(provider="bedrock", upstream_model=MODEL),
            Deployment(provider="bedrock-2", upstream_model=MODEL),
        ),
        prices=Prices(input=1, output=1, cache_read=1, cache_write=1),
    )

    only = plan_attempts(model, providers, strategy=strategy_named("bedrock_only"), unavailable=set())
    first = plan_attempts(model, providers, strategy=strategy_named("plan_first"), unavailable=set())

    assert [(a.provider.id, a.is_fallback) for a in only.attempts] == [("bedrock", False), ("bedrock-2", True)]
    assert [(a.provider.id, a.is_fallback) for a in first.attempts] == [
        ("plan", False),
        ("bedrock", True),
        ("bedrock-2", True),
    ]
    assert strategy_named("weighted") == "primary_first"  # a name this router does not implement routes in order
