"""Golden costs: each provider's real usage shape, decoded as the router decodes it, priced by hand.

The seed's anchors got two of these wrong: they priced cached input as normal input, and in Anthropic streams
they added the cache-creation tokens of ``message_start`` and of ``message_delta`` together. Every expected
figure below is worked out in its comment (prices are micro-USD per million tokens, so ``3_000_000`` is
3 micro-USD a token) and rounded up once, at the end.
"""

from __future__ import annotations

import json

import pytest

from tollway.fakellm import eventstream
from tollway.inference_router.domain.anthropic_response import parse_anthropic_response
from tollway.inference_router.domain.anthropic_stream import AnthropicEventDecoder
from tollway.inference_router.domain.bedrock_response import parse_bedrock_response
from tollway.inference_router.domain.bedrock_stream import BedrockEventDecoder
from tollway.inference_router.domain.canonical import Usage
from tollway.inference_router.domain.catalog import Prices, parse_catalog
from tollway.inference_router.domain.deltas import StreamAccumulator, StreamDelta
from tollway.inference_router.domain.gemini_response import GeminiChunkDecoder
from tollway.inference_router.domain.gemini_usage import UsageMetadataWire, usage_from_gemini
from tollway.inference_router.domain.openai_response import parse_openai_response
from tollway.inference_router.domain.openai_stream import OpenAIChunkDecoder
from tollway.inference_router.domain.pricing import cost_micros

GPT = Prices(input=2_500_000, output=10_000_000, cache_read=1_250_000, cache_write=0)
CLAUDE = Prices(input=3_000_000, output=15_000_000, cache_read=300_000, cache_write=3_750_000, cache_write_1h=6_000_000)
GEMINI = Prices(input=1_250_000, output=10_000_000, cache_read=312_500, cache_write=0)

OPENAI_USAGE = {
    "prompt_tokens": 2000,
    "completion_tokens": 300,
    "total_tokens": 2300,
    "prompt_tokens_details": {"cached_tokens": 1500},
    "completion_tokens_details": {"reasoning_tokens": 100},
}
# 500 uncached x 2.5 = 1250; 1500 cached x 1.25 = 1875; 300 output (100 of them reasoning) x 10 = 3000
OPENAI_COST = 6125
ANTHROPIC_USAGE = {
    "input_tokens": 50,
    "cache_creation_input_tokens": 1000,
    "cache_read_input_tokens": 4000,
    "cache_creation": {"ephemeral_5m_input_tokens": 600, "ephemeral_1h_input_tokens": 400},
    "output_tokens": 200,
}
# 50 x 3 = 150; 4000 reads x 0.3 = 1200; 600 5-minute writes x 3.75 = 2250; 400 1-hour writes x 6 = 2400;
# 200 output x 15 = 3000
ANTHROPIC_COST = 9000
BEDROCK_USAGE = {
    "inputTokens": 50,
    "outputTokens": 200,
    "totalTokens": 5250,
    "cacheReadInputTokens": 4000,
    "cacheWriteInputTokens": 1000,
}
# 50 x 3 = 150; 4000 reads x 0.3 = 1200; 1000 writes (Bedrock gives no TTL split: 5-minute) x 3.75 = 3750;
# 200 x 15 = 3000
BEDROCK_COST = 8100


def _decode_all(decoder: OpenAIChunkDecoder | AnthropicEventDecoder, body: bytes) -> Usage:
    seen = StreamAccumulator()
    for delta in decoder.feed(body) + decoder.close():
        seen.observe(delta)
    assert seen.usage is not None
    return seen.usage


def test_openai_cached_input_is_priced_at_the_cached_rate() -> None:
    body = {"id": "c", "model": "gpt", "choices": [{"index": 0, "message": {"role": "assistant", "content": "x"}}]}
    usage = parse_openai_response(json.dumps({**body, "usage": OPENAI_USAGE}).encode()).usage
    assert usage == Usage(prompt_tokens=2000, completion_tokens=300, cache_read_tokens=1500, reasoning_tokens=100)

    assert cost_micros(usage, GPT) == OPENAI_COST
    assert cost_micros(Usage(prompt_tokens=2000, completion_tokens=300), GPT) == 8000  # the anchors' figure


def test_openai_stream_usage_chunk_costs_the_same() -> None:
    chunks = [
        {"id": "c", "model": "gpt", "choices": [{"index": 0, "delta": {"role": "assistant", "content": "x"}}]},
        {"id": "c", "model": "gpt", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        {"id": "c", "model": "gpt", "choices": [], "usage": OPENAI_USAGE},
    ]
    body = b"".join(b"data: " + json.dumps(chunk).encode() + b"\n\n" for chunk in chunks) + b"data: [DONE]\n\n"

    assert cost_micros(_decode_all(OpenAIChunkDecoder(), body), GPT) == OPENAI_COST


def test_anthropic_cache_writes_by_ttl_and_reads_non_stream() -> None:
    message = {
        "id": "m",
        "type": "message",
        "role": "assistant",
        "model": "claude",
        "content": [],
        "usage": ANTHROPIC_USAGE,
    }
    usage = parse_anthropic_response(json.dumps(message).encode()).usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.cache_write_tokens, usage.cache_write_1h_tokens) == (5050, 1000, 400)

    assert cost_micros(usage, CLAUDE) == ANTHROPIC_COST


def _anthropic_stream(delta_usage: dict[str, object]) -> bytes:
    start_usage = {**ANTHROPIC_USAGE, "output_tokens": 1}
    events = [
        ("message_start", {"type": "message_start", "message": {"id": "m", "model": "claude", "usage": start_usage}}),
        (
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ),
        (
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "x"}},
        ),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": delta_usage}),
        ("message_stop", {"type": "message_stop"}),
    ]
    return b"".join(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events)


@pytest.mark.parametrize(
    "delta_usage",
    [
        pytest.param({"output_tokens": 200}, id="delta-with-output-only"),
        pytest.param(ANTHROPIC_USAGE, id="delta-repeating-the-cumulative-input-side"),
    ],
)
def test_anthropic_stream_counts_cache_creation_once(delta_usage: dict[str, object]) -> None:
    usage = _decode_all(AnthropicEventDecoder(), _anthropic_stream(delta_usage))

    assert (usage.cache_write_tokens, usage.cache_write_1h_tokens, usage.completion_tokens) == (1000, 400, 200)
    assert cost_micros(usage, CLAUDE) == ANTHROPIC_COST


def test_bedrock_converse_and_stream_metadata_cost_the_same() -> None:
    body = {"output": {"message": {"role": "assistant", "content": [{"text": "x"}]}}, "stopReason": "end_turn"}
    usage = parse_bedrock_response(
        json.dumps({**body, "usage": BEDROCK_USAGE}).encode(), response_id="r", model="m"
    ).usage
    assert usage is not None
    decoder = BedrockEventDecoder(response_id="r", model="m")
    deltas: list[StreamDelta] = []
    for name, payload in [
        ("messageStart", {"role": "assistant"}),
        ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "x"}}),
        ("messageStop", {"stopReason": "end_turn"}),
        ("metadata", {"usage": BEDROCK_USAGE, "metrics": {"latencyMs": 5}}),
    ]:
        framed = eventstream.event(name, json.dumps(payload).encode())
        assert framed  # the same payloads botocore would unframe
        deltas += decoder.event("event", name, json.dumps(payload).encode())
    seen = StreamAccumulator()
    for delta in deltas:
        seen.observe(delta)

    assert (
        usage
        == seen.usage
        == Usage(prompt_tokens=5050, completion_tokens=200, cache_read_tokens=4000, cache_write_tokens=1000)
    )
    assert cost_micros(usage, CLAUDE) == BEDROCK_COST


def test_gemini_thoughts_are_output_and_cached_content_is_inside_the_prompt() -> None:
    wire = UsageMetadataWire(
        prompt_token_count=10_000,
        cached_content_token_count=8000,
        candidates_token_count=500,
        thoughts_token_count=1500,
    )
    usage = usage_from_gemini(wire)

    assert usage == Usage(prompt_tokens=10_000, completion_tokens=2000, cache_read_tokens=8000, reasoning_tokens=1500)
    # 2000 uncached x 1.25 = 2500; 8000 cached x 0.3125 = 2500; 2000 output (1500 thinking) x 10 = 20000
    assert cost_micros(usage, GEMINI) == 25_000


def test_reasoning_price_and_request_fee_round_up_once() -> None:
    prices = Prices(
        input=150_000, output=600_000, cache_read=75_000, cache_write=0, reasoning=2_400_000, per_request=1000
    )
    # 1 x 0.15 + 2 plain output x 0.6 + 8 reasoning x 2.4 = 0.15 + 1.2 + 19.2 = 20.55 -> 21, plus the 1000 fee
    assert cost_micros(Usage(prompt_tokens=1, completion_tokens=10, reasoning_tokens=8), prices) == 1021


def test_the_price_version_is_named_or_follows_every_price() -> None:
    template = """
price_version: {version}
providers: [{{id: p, kind: openai_compatible, base_url: "http://x/v1"}}]
models:
  - {{id: m, context_window: 10, max_output_tokens: 5, deployments: [{{provider: p, upstream_model: u}}],
     prices: {{input: {price}, output: 1, cache_read: 1, cache_write: 1}}}}
"""
    named = parse_catalog(template.format(version="2026-12-01", price=1).encode())
    digest = parse_catalog(template.format(version="null", price=1).encode()).price_version
    changed = parse_catalog(template.format(version="null", price=2).encode()).price_version

    assert named.price_version == "2026-12-01"
    assert digest.startswith("p-")
    assert digest != changed


def test_a_gemini_stream_is_billed_on_its_last_cumulative_usage_not_the_sum() -> None:
    """Every Gemini chunk repeats the usage so far: adding them up (a naive tap) would bill the prompt per chunk."""
    chunks = [
        b'data: {"candidates":[{"content":{"parts":[{"text":"a"}]}}],'
        b'"usageMetadata":{"promptTokenCount":10000,"cachedContentTokenCount":8000,"candidatesTokenCount":1}}\r\n\r\n',
        b'data: {"candidates":[{"content":{"parts":[{"text":"b"}]},"finishReason":"STOP"}],'
        b'"usageMetadata":{"promptTokenCount":10000,"cachedContentTokenCount":8000,"candidatesTokenCount":500,'
        b'"thoughtsTokenCount":1500}}\r\n\r\n',
    ]
    decoder, seen = GeminiChunkDecoder(), StreamAccumulator()
    for chunk in chunks:
        for delta in decoder.feed(chunk):
            seen.observe(delta)

    assert seen.usage == Usage(
        prompt_tokens=10_000, completion_tokens=2000, cache_read_tokens=8000, reasoning_tokens=1500
    )
    assert cost_micros(seen.usage, GEMINI) == 25_000  # the same as the non-stream answer above
