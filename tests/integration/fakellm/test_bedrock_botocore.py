"""botocore's own bedrock-runtime client against the fake: SigV4 is checked, the event stream parses, errors map."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import botocore.session
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from urllib3.exceptions import ProtocolError

from tollway.fakellm.sigv4 import DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY

MODEL = "anthropic.claude-3-5-haiku-20241022-v1:0"
HELLO = [{"role": "user", "content": [{"text": "hello there"}]}]  # 11 chars -> 3 prompt tokens
WEATHER_TOOL = {
    "toolSpec": {
        "name": "get_weather",
        "description": "Weather in a city",
        "inputSchema": {"json": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
    }
}


def _client(url: str, secret: str = DEFAULT_SECRET_ACCESS_KEY) -> Any:
    return botocore.session.get_session().create_client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id=DEFAULT_ACCESS_KEY_ID,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}),
    )


@pytest.fixture
def bedrock(fakellm_url: str) -> Iterator[Any]:
    client = _client(fakellm_url)
    yield client
    client.close()


def test_converse_answers_text_with_bedrock_usage(bedrock: Any) -> None:
    answer = bedrock.converse(
        modelId=MODEL,
        messages=HELLO,
        system=[{"text": "be brief"}],  # 8 chars -> 2 more prompt tokens
        additionalModelRequestFields={},
    )

    assert answer["output"]["message"]["content"][0]["text"].startswith("tok0 tok1")
    assert answer["stopReason"] == "end_turn"
    assert answer["usage"] == {
        "inputTokens": 5,
        "outputTokens": 20,
        "totalTokens": 25,
        "cacheReadInputTokens": 0,
        "cacheWriteInputTokens": 0,
    }


def test_cache_tokens_sit_beside_input_tokens_and_count_in_the_total(bedrock: Any, fakellm_url: str) -> None:
    answer = bedrock.converse(modelId="fake-claude+cache_read=100+cache_write=40+tokens=2", messages=HELLO)

    usage = answer["usage"]
    assert (usage["inputTokens"], usage["cacheReadInputTokens"], usage["cacheWriteInputTokens"]) == (3, 100, 40)
    assert usage["totalTokens"] == 3 + 100 + 40 + 2


def test_converse_stream_is_a_binary_event_stream_botocore_decodes(bedrock: Any) -> None:
    answer = bedrock.converse_stream(modelId=MODEL, messages=HELLO, inferenceConfig={"maxTokens": 3})

    events = list(answer["stream"])
    kinds = [next(iter(event)) for event in events]
    assert kinds == [
        "messageStart",
        "contentBlockDelta",
        "contentBlockDelta",
        "contentBlockDelta",
        "contentBlockStop",
        "messageStop",
        "metadata",
    ]
    text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e)
    assert text == "tok0 tok1 tok2"
    assert events[-2]["messageStop"]["stopReason"] == "max_tokens"
    assert events[-1]["metadata"]["usage"]["outputTokens"] == 3


def test_tool_use_streams_as_a_started_block_with_input_pieces(bedrock: Any) -> None:
    answer = bedrock.converse_stream(modelId=MODEL, messages=HELLO, toolConfig={"tools": [WEATHER_TOOL]})

    events = list(answer["stream"])
    start = next(e["contentBlockStart"]["start"]["toolUse"] for e in events if "contentBlockStart" in e)
    pieces = "".join(e["contentBlockDelta"]["delta"]["toolUse"]["input"] for e in events if "contentBlockDelta" in e)
    assert start["name"] == "get_weather"
    assert start["toolUseId"].startswith("tooluse_")
    assert pieces == '{"city":"fake"}'
    assert events[-2]["messageStop"]["stopReason"] == "tool_use"


def test_a_throttled_call_is_a_throttling_exception_with_retry_after(bedrock: Any) -> None:
    with pytest.raises(ClientError) as raised:
        bedrock.converse(modelId="fake-claude+status=429+retry_after=7", messages=HELLO)

    error = raised.value.response
    assert error["Error"]["Code"] == "ThrottlingException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert error["ResponseMetadata"]["HTTPHeaders"]["retry-after"] == "7"


def test_a_wrong_secret_fails_the_signature_check(fakellm_url: str) -> None:
    client = _client(fakellm_url, secret="not-the-secret")
    with pytest.raises(ClientError) as raised:
        client.converse(modelId=MODEL, messages=HELLO)

    assert raised.value.response["Error"]["Code"] == "InvalidSignatureException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_unsigned_http_is_refused(fakellm_url: str) -> None:
    response = httpx.post(f"{fakellm_url}/model/{MODEL}/converse", json={"messages": HELLO})

    assert response.status_code == 403
    assert response.headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"


def test_a_cut_stream_ends_mid_answer_without_message_stop(bedrock: Any) -> None:
    answer = bedrock.converse_stream(modelId="fake-claude+disconnect=3", messages=HELLO)

    seen: list[str] = []
    with pytest.raises(ProtocolError):  # the body ended before the event stream did
        seen.extend(next(iter(event)) for event in answer["stream"])
    assert seen == ["messageStart", "contentBlockDelta", "contentBlockDelta"]
