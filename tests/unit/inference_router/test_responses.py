"""Non-stream responses both ways for both formats; every stop-reason and usage mapping."""

import msgspec
import pytest

from tollway.inference_router.domain.anthropic_response import (
    encode_anthropic_response,
    finish_from_anthropic,
    parse_anthropic_response,
    stop_reason_to_anthropic,
    usage_from_anthropic,
    usage_to_anthropic,
)
from tollway.inference_router.domain.anthropic_wire import UsageWire as AnthropicUsage
from tollway.inference_router.domain.canonical import ChatResponse, FinishReason, ToolCall, Usage
from tollway.inference_router.domain.errors import UpstreamProtocolError
from tollway.inference_router.domain.openai_response import (
    encode_openai_response,
    finish_from_openai,
    parse_openai_response,
    usage_from_openai,
    usage_to_openai,
)
from tollway.inference_router.domain.openai_wire import CompletionDetails, PromptDetails
from tollway.inference_router.domain.openai_wire import UsageWire as OpenAIUsage

OPENAI_BODY = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1,
    "model": "fake-gpt",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": None,
                "refusal": None,
                "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}}],
            },
            "logprobs": None,
            "finish_reason": "tool_calls",
        }
    ],
    "usage": {
        "prompt_tokens": 100,
        "completion_tokens": 30,
        "total_tokens": 130,
        "prompt_tokens_details": {"cached_tokens": 40, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 12, "audio_tokens": 0},
    },
    "system_fingerprint": "fp",
}
ANTHROPIC_CONTENT: list[dict[str, object]] = [
    {"type": "text", "text": "Calling."},
    {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": 1}},
]
ANTHROPIC_BODY: dict[str, object] = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "fake-claude",
    "content": [{"type": "thinking", "thinking": "…", "signature": "s"}, *ANTHROPIC_CONTENT],
    "stop_reason": "tool_use",
    "stop_sequence": None,
    "usage": {
        "input_tokens": 50,
        "cache_creation_input_tokens": 20,
        "cache_read_input_tokens": 30,
        "output_tokens": 30,
    },
}
USAGE = Usage(prompt_tokens=100, completion_tokens=30, cache_read_tokens=30, cache_write_tokens=20)


def test_openai_upstream_response_to_canonical() -> None:
    assert parse_openai_response(msgspec.json.encode(OPENAI_BODY)) == ChatResponse(
        id="chatcmpl-1",
        model="fake-gpt",
        content=None,
        tool_calls=(ToolCall(id="call_1", name="f", arguments='{"a":1}'),),
        finish_reason="tool_calls",
        usage=Usage(prompt_tokens=100, completion_tokens=30, cache_read_tokens=40, reasoning_tokens=12),
    )


def test_anthropic_upstream_response_to_canonical() -> None:
    assert parse_anthropic_response(msgspec.json.encode(ANTHROPIC_BODY)) == ChatResponse(
        id="msg_1",
        model="fake-claude",
        content="Calling.",
        tool_calls=(ToolCall(id="toolu_1", name="f", arguments='{"a":1}'),),
        finish_reason="tool_calls",
        usage=USAGE,
    )


def test_openai_public_body_is_exact() -> None:
    response = ChatResponse(id="r1", model="up", content="hello", finish_reason="length", usage=USAGE)
    assert msgspec.json.decode(encode_openai_response(response, model="gpt-4o-mini", created=7)) == {
        "id": "r1",
        "object": "chat.completion",
        "created": 7,
        "model": "gpt-4o-mini",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "hello", "refusal": None},
                "logprobs": None,
                "finish_reason": "length",
            }
        ],
        "usage": {
            "prompt_tokens": 100,
            "completion_tokens": 30,
            "total_tokens": 130,
            "prompt_tokens_details": {"cached_tokens": 30},
            "completion_tokens_details": {"reasoning_tokens": 0},
        },
    }


def test_anthropic_public_body_is_exact() -> None:
    response = ChatResponse(
        id="r1",
        model="up",
        content="hi",
        tool_calls=(ToolCall(id="call_1", name="f", arguments='{"a":1}'),),
        finish_reason="tool_calls",
        usage=USAGE,
    )
    assert msgspec.json.decode(encode_anthropic_response(response, model="claude-sonnet-4")) == {
        "id": "r1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4",
        "content": [
            {"type": "text", "text": "hi"},
            {"type": "tool_use", "id": "call_1", "name": "f", "input": {"a": 1}},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 50,
            "output_tokens": 30,
            "cache_creation_input_tokens": 20,
            "cache_read_input_tokens": 30,
        },
    }


def test_round_trips_through_canonical() -> None:
    anthropic = parse_anthropic_response(msgspec.json.encode({**ANTHROPIC_BODY, "content": ANTHROPIC_CONTENT}))
    assert msgspec.json.decode(encode_anthropic_response(anthropic, model="fake-claude")) == {
        **ANTHROPIC_BODY,
        "content": ANTHROPIC_CONTENT,
    }
    openai = parse_openai_response(
        encode_openai_response(parse_openai_response(msgspec.json.encode(OPENAI_BODY)), model="fake-gpt", created=1)
    )
    assert openai == parse_openai_response(msgspec.json.encode(OPENAI_BODY))


def test_stop_sequence_survives_the_round_trip() -> None:
    body = {**ANTHROPIC_BODY, "content": [], "stop_reason": "stop_sequence", "stop_sequence": "END"}
    response = parse_anthropic_response(msgspec.json.encode(body))
    assert (response.finish_reason, response.stop_sequence, response.content) == ("stop", "END", None)
    again = msgspec.json.decode(encode_anthropic_response(response, model="fake-claude"))
    assert (again["stop_reason"], again["stop_sequence"]) == ("stop_sequence", "END")


def test_refusal_text_is_kept_when_content_is_null() -> None:
    choice = {"index": 0, "message": {"role": "assistant", "content": None, "refusal": "no"}, "finish_reason": "stop"}
    assert parse_openai_response(msgspec.json.encode({**OPENAI_BODY, "choices": [choice]})).content == "no"


def test_missing_usage_is_none() -> None:
    body = {key: value for key, value in OPENAI_BODY.items() if key != "usage"}
    assert parse_openai_response(msgspec.json.encode(body)).usage is None


@pytest.mark.parametrize(
    "raw", [b"not json", b'{"choices": []}', b'{"choices": "x"}', b'{"choices":[{"message":{"tool_calls":[{}]}}]}']
)
def test_unusable_openai_bodies(raw: bytes) -> None:
    with pytest.raises(UpstreamProtocolError):
        parse_openai_response(raw)


def test_unusable_anthropic_body() -> None:
    with pytest.raises(UpstreamProtocolError):
        parse_anthropic_response(b'{"content": 3}')


@pytest.mark.parametrize(
    ("upstream", "canonical"),
    [
        ("stop", "stop"),
        ("length", "length"),
        ("tool_calls", "tool_calls"),
        ("function_call", "tool_calls"),
        ("content_filter", "content_filter"),
        (None, "stop"),
        ("something_new", "stop"),
    ],
)
def test_openai_finish_reasons(upstream: str | None, canonical: FinishReason) -> None:
    assert finish_from_openai(upstream) == canonical


@pytest.mark.parametrize(
    ("upstream", "canonical"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("pause_turn", "stop"),
        ("max_tokens", "length"),
        ("model_context_window_exceeded", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        (None, "stop"),
    ],
)
def test_anthropic_stop_reasons_in(upstream: str | None, canonical: FinishReason) -> None:
    assert finish_from_anthropic(upstream) == canonical


@pytest.mark.parametrize(
    ("canonical", "stop_sequence", "anthropic"),
    [
        ("stop", None, "end_turn"),
        ("stop", "END", "stop_sequence"),
        ("length", None, "max_tokens"),
        ("tool_calls", None, "tool_use"),
        ("content_filter", None, "refusal"),
    ],
)
def test_anthropic_stop_reasons_out(canonical: FinishReason, stop_sequence: str | None, anthropic: str) -> None:
    assert stop_reason_to_anthropic(canonical, stop_sequence) == anthropic


def test_openai_usage_counts_cached_inside_prompt() -> None:
    wire = OpenAIUsage(
        prompt_tokens=100,
        completion_tokens=30,
        prompt_tokens_details=PromptDetails(cached_tokens=40),
        completion_tokens_details=CompletionDetails(reasoning_tokens=12),
    )
    usage = usage_from_openai(wire)
    assert usage == Usage(prompt_tokens=100, completion_tokens=30, cache_read_tokens=40, reasoning_tokens=12)
    assert usage.uncached_prompt_tokens == 60
    assert usage_to_openai(usage) == OpenAIUsage(
        prompt_tokens=100,
        completion_tokens=30,
        total_tokens=130,
        prompt_tokens_details=PromptDetails(cached_tokens=40),
        completion_tokens_details=CompletionDetails(reasoning_tokens=12),
    )


def test_openai_usage_with_null_details() -> None:
    wire = msgspec.json.decode(
        b'{"prompt_tokens":5,"completion_tokens":1,"prompt_tokens_details":null,'
        b'"completion_tokens_details":{"reasoning_tokens":null}}',
        type=OpenAIUsage,
    )
    assert usage_from_openai(wire) == Usage(prompt_tokens=5, completion_tokens=1)


def test_anthropic_usage_adds_cache_beside_input() -> None:
    wire = AnthropicUsage(input_tokens=50, output_tokens=30, cache_creation_input_tokens=20, cache_read_input_tokens=30)
    usage = usage_from_anthropic(wire)
    assert usage == USAGE
    assert usage.uncached_prompt_tokens == 50
    assert usage_to_anthropic(usage) == wire


def test_uncached_prompt_never_negative() -> None:
    assert Usage(prompt_tokens=5, cache_read_tokens=10).uncached_prompt_tokens == 0
