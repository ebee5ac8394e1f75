"""``message_start`` carries the prompt's tokens: the upstream's count when it has one up front, else the estimate."""

from __future__ import annotations

import msgspec

from tollway.inference_router.domain.anthropic_stream import AnthropicStreamEncoder
from tollway.inference_router.domain.canonical import Usage
from tollway.inference_router.domain.deltas import MessageStart, TextDelta


def _start_usage(frames: bytes) -> dict[str, int]:
    data = next(line for line in frames.split(b"\n") if line.startswith(b"data: "))
    event = msgspec.json.decode(data[len(b"data: ") :])
    assert event["type"] == "message_start"
    usage: dict[str, int] = event["message"]["usage"]
    return usage


def test_an_upstream_that_reports_usage_last_gets_the_estimate() -> None:
    encoder = AnthropicStreamEncoder(message_id="msg_1", model="m", input_tokens=12)
    assert _start_usage(encoder.feed(TextDelta("hi")))["input_tokens"] == 12


def test_an_upstream_count_up_front_beats_the_estimate() -> None:
    encoder = AnthropicStreamEncoder(message_id="msg_1", model="m", input_tokens=12)
    start = MessageStart(id="u", model="m", usage=Usage(prompt_tokens=30, cache_read_tokens=10))
    usage = _start_usage(encoder.feed(start))
    assert (usage["input_tokens"], usage["cache_read_input_tokens"]) == (20, 10)


def test_a_start_without_counts_gets_the_estimate() -> None:
    encoder = AnthropicStreamEncoder(message_id="msg_1", model="m", input_tokens=7)
    assert _start_usage(encoder.feed(MessageStart(id="u", model="m")))["input_tokens"] == 7
