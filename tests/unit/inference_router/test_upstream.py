"""The pure provider adapters: request building, and answers from the real fake upstream decoded end to end."""

from collections.abc import Awaitable, Callable

import msgspec
import pytest

from tollway.inference_router.domain.anthropic_request import decode_anthropic_request
from tollway.inference_router.domain.canonical import ChatRequest, Message, Tool, ToolCall, ToolChoice, Usage
from tollway.inference_router.domain.catalog import Provider
from tollway.inference_router.domain.deltas import (
    Finish,
    MessageStart,
    StreamAccumulator,
    TextDelta,
    ToolCallStart,
    UsageReport,
)
from tollway.inference_router.domain.error_bodies import (
    anthropic_error_body,
    openai_error_body,
    upstream_error_message,
)
from tollway.inference_router.domain.routing import outcome_for_status
from tollway.inference_router.domain.upstream import AnthropicUpstream, OpenAICompatibleUpstream, UpstreamRequest
from tollway.inference_router.ports import ProviderAdapter

Send = Callable[[UpstreamRequest], Awaitable[tuple[int, dict[str, str], list[bytes]]]]

OPENAI = Provider(id="fake-openai", kind="openai_compatible", base_url="http://127.0.0.1:8090/v1/")
ANTHROPIC = Provider(
    id="fake-anthropic",
    kind="anthropic",
    base_url="http://127.0.0.1:8090",
    headers={"Anthropic-Version": "2024-01-01", "anthropic-beta": "tools"},
)
HELLO = ChatRequest(model="gpt-4o-mini", messages=(Message(role="user", content="12345678"),))
WEATHER = Tool(
    name="weather",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


def adapters() -> list[ProviderAdapter]:
    return [OpenAICompatibleUpstream(OPENAI, "sk-o"), AnthropicUpstream(ANTHROPIC, "sk-a")]


def test_adapters_satisfy_the_port() -> None:
    for adapter in adapters():
        assert callable(adapter.build_request)
        assert adapter.stream_decoder().finished is False


def test_openai_request_shape() -> None:
    request = msgspec.structs.replace(HELLO, stream=True, metadata={"team": "a"}, user="end-user-1")
    sent = OpenAICompatibleUpstream(OPENAI, "sk-o").build_request(
        request, upstream_model="fake-gpt-mini", default_max_tokens=99
    )
    assert sent.url == "http://127.0.0.1:8090/v1/chat/completions"
    assert dict(sent.headers) == {
        "content-type": "application/json",
        "accept": "text/event-stream",
        "authorization": "Bearer sk-o",
    }
    assert msgspec.json.decode(sent.body) == {
        "model": "fake-gpt-mini",
        "messages": [{"role": "user", "content": "12345678"}],
        "stream": True,
        "stream_options": {"include_usage": True},  # forced: usage is what the stream is billed on
        "user": "end-user-1",  # and no metadata: that stays with Tollway
    }


def test_anthropic_request_shape_and_header_overrides() -> None:
    sent = AnthropicUpstream(ANTHROPIC, "sk-a").build_request(
        HELLO, upstream_model="fake-claude", default_max_tokens=99
    )
    assert sent.url == "http://127.0.0.1:8090/v1/messages"
    assert dict(sent.headers) == {
        "content-type": "application/json",
        "accept": "application/json",
        "anthropic-version": "2024-01-01",
        "x-api-key": "sk-a",
        "anthropic-beta": "tools",
    }
    assert msgspec.json.decode(sent.body) == {
        "model": "fake-claude",
        "messages": [{"role": "user", "content": "12345678"}],
        "max_tokens": 99,
    }
    assert not sent.stream


def test_no_key_sends_no_auth_header() -> None:
    sent = OpenAICompatibleUpstream(OPENAI, None).build_request(HELLO, upstream_model="m", default_max_tokens=1)
    assert "authorization" not in dict(sent.headers)


@pytest.mark.parametrize("index", [0, 1])
async def test_non_stream_answers_from_the_fake(fakellm: Send, index: int) -> None:
    adapter = adapters()[index]
    model = ["fake-gpt+tokens=3+cache_read=2+reasoning=1", "fake-claude+tokens=3+cache_read=2+cache_write=1"][index]
    status, _, chunks = await fakellm(adapter.build_request(HELLO, upstream_model=model, default_max_tokens=50))
    assert status == 200
    response = adapter.parse_response(b"".join(chunks))
    assert (response.content, response.finish_reason, response.tool_calls) == ("tok0 tok1 tok2", "stop", ())
    # 8 chars → 2 counted prompt tokens; the cache counts sit inside prompt_tokens, whatever the upstream format.
    expected = [
        Usage(prompt_tokens=4, completion_tokens=4, cache_read_tokens=2, reasoning_tokens=1),  # reasoning inside
        Usage(prompt_tokens=5, completion_tokens=3, cache_read_tokens=2, cache_write_tokens=1),
    ][index]
    assert response.usage == expected


@pytest.mark.parametrize("index", [0, 1])
async def test_streams_from_the_fake_decode_to_the_same_deltas(fakellm: Send, index: int) -> None:
    adapter = adapters()[index]
    request = msgspec.structs.replace(HELLO, stream=True)
    upstream = adapter.build_request(request, upstream_model="fake+tokens=3+cache_read=2", default_max_tokens=50)
    status, _, chunks = await fakellm(upstream)
    assert status == 200
    decoder = adapter.stream_decoder()
    body = b"".join(chunks)
    deltas = [delta for i in range(0, len(body), 5) for delta in decoder.feed(body[i : i + 5])] + decoder.close()
    assert isinstance(deltas[0], MessageStart)
    assert [d for d in deltas[1:] if not isinstance(d, TextDelta)] == [
        Finish(reason="stop"),
        UsageReport(Usage(prompt_tokens=4, completion_tokens=3, cache_read_tokens=2)),
    ]
    assert "".join(d.text for d in deltas if isinstance(d, TextDelta)) == "tok0 tok1 tok2"


@pytest.mark.parametrize("index", [0, 1])
async def test_tool_calls_stream_from_the_fake(fakellm: Send, index: int) -> None:
    adapter = adapters()[index]
    request = ChatRequest(
        model="m", messages=HELLO.messages, tools=(WEATHER,), tool_choice=ToolChoice(mode="required"), stream=True
    )
    _, _, chunks = await fakellm(adapter.build_request(request, upstream_model="fake", default_max_tokens=50))
    decoder = adapter.stream_decoder()
    accumulator = StreamAccumulator()
    for delta in decoder.feed(b"".join(chunks)) + decoder.close():
        accumulator.observe(delta)
    response = accumulator.response()
    assert response.finish_reason == "tool_calls"
    assert [(call.name, msgspec.json.decode(call.arguments)) for call in response.tool_calls] == [
        ("weather", {"city": "fake"})
    ]


async def test_cross_format_tool_round_trip_through_an_openai_upstream(fakellm: Send) -> None:
    """An Anthropic client's tool_result conversation served by an OpenAI upstream gets a text answer."""
    request = decode_anthropic_request(
        msgspec.json.encode(
            {
                "model": "claude-sonnet-4",
                "max_tokens": 20,
                "tools": [{"name": "weather", "input_schema": WEATHER.parameters}],
                "messages": [
                    {"role": "user", "content": "weather?"},
                    {
                        "role": "assistant",
                        "content": [
                            {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Oslo"}}
                        ],
                    },
                    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "-3C"}]},
                ],
            }
        )
    )
    adapter = OpenAICompatibleUpstream(OPENAI, None)
    status, _, chunks = await fakellm(
        adapter.build_request(request, upstream_model="fake+tokens=2", default_max_tokens=1)
    )
    assert status == 200
    response = adapter.parse_response(b"".join(chunks))
    assert (response.content, response.finish_reason) == ("tok0 tok1", "stop")
    assert request.messages[1].tool_calls == (ToolCall(id="toolu_1", name="weather", arguments='{"city":"Oslo"}'),)


@pytest.mark.parametrize("index", [0, 1])
async def test_injected_errors_are_classified_and_explained(fakellm: Send, index: int) -> None:
    adapter = adapters()[index]
    upstream = adapter.build_request(HELLO, upstream_model="fake+status=429+retry_after=3", default_max_tokens=5)
    status, headers, chunks = await fakellm(upstream)
    outcome = outcome_for_status(status, retry_after=headers.get("retry-after"))
    assert (outcome.kind, outcome.retry_after, outcome.try_next) == ("rate_limited", 3.0, True)
    assert adapter.error_message(b"".join(chunks))


async def test_truncated_fake_stream_is_detected(fakellm: Send) -> None:
    adapter = AnthropicUpstream(ANTHROPIC, None)
    request = msgspec.structs.replace(HELLO, stream=True)
    _, _, chunks = await fakellm(
        adapter.build_request(request, upstream_model="fake+disconnect=3", default_max_tokens=5)
    )
    decoder = adapter.stream_decoder()
    deltas = decoder.feed(b"".join(chunks))
    assert isinstance(deltas[0], MessageStart)
    assert not decoder.finished
    assert not any(isinstance(d, ToolCallStart) for d in deltas)


def test_error_bodies_in_both_formats() -> None:
    assert msgspec.json.decode(openai_error_body(400, "bad", param="max_tokens")) == {
        "error": {"message": "bad", "type": "invalid_request_error", "param": "max_tokens", "code": None}
    }
    assert msgspec.json.decode(openai_error_body(429, "slow")) == {
        "error": {"message": "slow", "type": "rate_limit_error", "param": None, "code": None}
    }
    assert msgspec.json.decode(anthropic_error_body(413, "big")) == {
        "type": "error",
        "error": {"type": "request_too_large", "message": "big"},
    }
    assert msgspec.json.decode(anthropic_error_body(503, "down"))["error"]["type"] == "overloaded_error"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"error":{"message":"bad key","type":"invalid_request_error"}}', "bad key"),
        (b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}', "Overloaded"),
        (b'{"error":"plain string"}', "plain string"),
        (b'{"message":"top level"}', "top level"),
        (b"<html>502 Bad Gateway</html>", "<html>502 Bad Gateway</html>"),
        (b"x" * 600, "x" * 500),
    ],
)
def test_upstream_error_messages(body: bytes, message: str) -> None:
    assert upstream_error_message(body) == message
