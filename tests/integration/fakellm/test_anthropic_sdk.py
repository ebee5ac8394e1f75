"""The official Anthropic SDK against a real fakellm server."""

import time
from collections.abc import Iterator

import anthropic
import httpx2
import pytest
from anthropic.types import MessageParam, ToolParam

USER: list[MessageParam] = [{"role": "user", "content": "What is the weather like?"}]  # 25 characters
SYSTEM = "Be brief."  # 9 characters: 34 in all -> 9 input tokens
WEATHER_TOOL: ToolParam = {
    "name": "get_weather",
    "description": "Weather for a city.",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
        "required": ["city", "days"],
    },
}


@pytest.fixture
def client(fakellm_url: str) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=fakellm_url, api_key="test", max_retries=0) as sdk:
        yield sdk


def test_non_stream_message(client: anthropic.Anthropic) -> None:
    message = client.messages.create(model="fake-claude", max_tokens=100, system=SYSTEM, messages=USER)
    assert message.id.startswith("msg_")
    assert (message.type, message.role, message.model, message.stop_reason) == (
        "message",
        "assistant",
        "fake-claude",
        "end_turn",
    )
    assert message.content[0].type == "text"
    assert message.content[0].text == " ".join(f"tok{i}" for i in range(20))
    assert (message.usage.input_tokens, message.usage.output_tokens) == (9, 20)
    assert (message.usage.cache_read_input_tokens, message.usage.cache_creation_input_tokens) == (0, 0)


def test_max_tokens_stop_reason(client: anthropic.Anthropic) -> None:
    message = client.messages.create(model="fake-claude", max_tokens=3, messages=USER)
    assert (message.stop_reason, message.usage.output_tokens) == ("max_tokens", 3)


def test_cache_controls_are_reported(client: anthropic.Anthropic) -> None:
    headers = {"x-fakellm-cache-read-tokens": "50", "x-fakellm-cache-write-tokens": "30"}
    message = client.messages.create(model="fake-claude", max_tokens=100, messages=USER, extra_headers=headers)
    assert (message.usage.cache_read_input_tokens, message.usage.cache_creation_input_tokens) == (50, 30)


def test_stream_event_sequence_and_final_message(client: anthropic.Anthropic) -> None:
    with client.messages.stream(model="fake-claude", max_tokens=100, system=SYSTEM, messages=USER) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_message()
    assert kinds[0] == "message_start"
    assert kinds[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert kinds.count("content_block_delta") == 20
    assert final.content[0].type == "text"
    assert final.content[0].text == " ".join(f"tok{i}" for i in range(20))
    assert (final.stop_reason, final.usage.input_tokens, final.usage.output_tokens) == ("end_turn", 9, 20)


def test_raw_stream_includes_ping(client: anthropic.Anthropic) -> None:
    with client.messages.with_streaming_response.create(
        model="fake-claude", max_tokens=2, messages=USER, stream=True
    ) as response:
        names = [line.removeprefix("event: ") for line in response.iter_lines() if line.startswith("event: ")]
    assert names[:3] == ["message_start", "content_block_start", "ping"]


def test_tool_use_round_trip(client: anthropic.Anthropic) -> None:
    first = client.messages.create(model="fake-claude", max_tokens=100, messages=USER, tools=[WEATHER_TOOL])
    assert first.stop_reason == "tool_use"
    block = first.content[0]
    assert block.type == "tool_use"
    assert (block.name, block.input, block.id.startswith("toolu_")) == (
        "get_weather",
        {"city": "fake", "days": 1},
        True,
    )
    history: list[MessageParam] = [
        *USER,
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": block.id, "name": block.name, "input": block.input}],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": block.id, "content": "sunny"}]},
    ]
    second = client.messages.create(model="fake-claude", max_tokens=100, messages=history, tools=[WEATHER_TOOL])
    assert (second.stop_reason, second.content[0].type) == ("end_turn", "text")


def test_streamed_tool_use_accumulates_input(client: anthropic.Anthropic) -> None:
    with client.messages.stream(model="fake-claude", max_tokens=100, messages=USER, tools=[WEATHER_TOOL]) as stream:
        final = stream.get_final_message()
    block = final.content[0]
    assert block.type == "tool_use"
    assert (block.input, final.stop_reason) == ({"city": "fake", "days": 1}, "tool_use")


def test_rate_limit_with_retry_after(client: anthropic.Anthropic) -> None:
    headers = {"x-fakellm-status": "429", "x-fakellm-retry-after": "3"}
    with pytest.raises(anthropic.RateLimitError) as caught:
        client.messages.create(model="fake-claude", max_tokens=10, messages=USER, extra_headers=headers)
    assert caught.value.response.headers["retry-after"] == "3"
    assert caught.value.body == {
        "type": "error",
        "error": {"type": "rate_limit_error", "message": "fakellm: injected status 429"},
    }


def test_overloaded_by_model_directive(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.OverloadedError):
        client.messages.create(model="fake-claude+status=529", max_tokens=10, messages=USER)
    with pytest.raises(anthropic.InternalServerError):
        client.messages.create(model="fake-claude+status=500", max_tokens=10, messages=USER)


def test_mid_stream_disconnect_raises(client: anthropic.Anthropic) -> None:
    kinds: list[str] = []
    with (
        pytest.raises((anthropic.APIConnectionError, httpx2.RemoteProtocolError)),
        client.messages.stream(model="fake-claude+disconnect=6", max_tokens=100, messages=USER) as stream,
    ):
        kinds.extend(event.type for event in stream)
    assert "message_stop" not in kinds


def test_latency_delays_the_response(client: anthropic.Anthropic) -> None:
    started = time.perf_counter()
    client.messages.create(model="fake-claude+latency=200", max_tokens=10, messages=USER)
    assert time.perf_counter() - started >= 0.2


def test_malformed_json_is_an_anthropic_400(fakellm_url: str) -> None:
    response = httpx2.post(f"{fakellm_url}/v1/messages", content=b"[1,")
    assert response.status_code == 400
    assert response.json()["type"] == "error"
    assert response.json()["error"]["type"] == "invalid_request_error"
