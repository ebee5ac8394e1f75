"""Anthropic streaming: canonical deltas → the exact event sequence, upstream events (split anywhere) → deltas."""

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tollway.inference_router.domain.anthropic_stream import AnthropicEventDecoder, AnthropicStreamEncoder
from tollway.inference_router.domain.canonical import Usage
from tollway.inference_router.domain.deltas import (
    Finish,
    MessageStart,
    StreamDelta,
    TextDelta,
    ToolCallArguments,
    ToolCallStart,
    UsageReport,
)
from tollway.inference_router.domain.errors import UpstreamProtocolError, UpstreamStreamError
from tollway.inference_router.domain.openai_stream import OpenAIChunkDecoder, OpenAIChunkEncoder


def event(name: str, data: str) -> bytes:
    return f"event: {name}\ndata: {data}\n\n".encode()


def start(
    usage: str = '{"input_tokens":0,"output_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}',
) -> bytes:
    message = (
        '{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4","content":[],'
        f'"stop_reason":null,"stop_sequence":null,"usage":{usage}}}'
    )
    return event("message_start", f'{{"type":"message_start","message":{message}}}')


def block_start(index: int, block: str) -> bytes:
    return event("content_block_start", f'{{"type":"content_block_start","index":{index},"content_block":{block}}}')


def block_delta(index: int, delta: str) -> bytes:
    return event("content_block_delta", f'{{"type":"content_block_delta","index":{index},"delta":{delta}}}')


def block_stop(index: int) -> bytes:
    return event("content_block_stop", f'{{"type":"content_block_stop","index":{index}}}')


def message_end(stop_reason: str, usage: str, stop_sequence: str = "null") -> bytes:
    delta = f'{{"stop_reason":"{stop_reason}","stop_sequence":{stop_sequence}}}'
    return event("message_delta", f'{{"type":"message_delta","delta":{delta},"usage":{usage}}}') + event(
        "message_stop", '{"type":"message_stop"}'
    )


def encode_all(deltas: list[StreamDelta], usage: Usage | None = None) -> bytes:
    encoder = AnthropicStreamEncoder(message_id="msg_1", model="claude-sonnet-4")
    return b"".join(encoder.feed(delta) for delta in deltas) + encoder.close(usage)


def test_text_stream_events_are_exact() -> None:
    out = encode_all(
        [
            MessageStart(
                id="up", model="fake", usage=Usage(prompt_tokens=30, cache_read_tokens=10, cache_write_tokens=5)
            ),
            TextDelta("Hel"),
            TextDelta("lo"),
            Finish(reason="stop"),
            UsageReport(Usage(prompt_tokens=30, completion_tokens=2, cache_read_tokens=10, cache_write_tokens=5)),
        ]
    )
    assert out == (
        start('{"input_tokens":15,"output_tokens":0,"cache_creation_input_tokens":5,"cache_read_input_tokens":10}')
        + block_start(0, '{"type":"text","text":""}')
        + block_delta(0, '{"type":"text_delta","text":"Hel"}')
        + block_delta(0, '{"type":"text_delta","text":"lo"}')
        + block_stop(0)
        + message_end(
            "end_turn",
            '{"input_tokens":15,"output_tokens":2,"cache_creation_input_tokens":5,"cache_read_input_tokens":10}',
        )
    )


def test_text_then_two_tool_calls_get_their_own_blocks() -> None:
    out = encode_all(
        [
            TextDelta("Calling."),
            ToolCallStart(index=0, id="call_1", name="a"),
            ToolCallArguments(index=0, arguments='{"x":'),
            ToolCallArguments(index=0, arguments="1}"),
            ToolCallStart(index=1, id="call_2", name="b"),
            ToolCallArguments(index=1, arguments=""),
            Finish(reason="tool_calls"),
        ],
        usage=Usage(prompt_tokens=4, completion_tokens=9),
    )
    assert out == (
        start()
        + block_start(0, '{"type":"text","text":""}')
        + block_delta(0, '{"type":"text_delta","text":"Calling."}')
        + block_stop(0)
        + block_start(1, '{"type":"tool_use","id":"call_1","name":"a","input":{}}')
        + block_delta(1, '{"type":"input_json_delta","partial_json":"{\\"x\\":"}')
        + block_delta(1, '{"type":"input_json_delta","partial_json":"1}"}')
        + block_stop(1)
        + block_start(2, '{"type":"tool_use","id":"call_2","name":"b","input":{}}')
        + block_stop(2)
        + message_end(
            "tool_use",
            '{"input_tokens":4,"output_tokens":9,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}',
        )
    )


def test_stop_sequence_and_empty_stream() -> None:
    out = encode_all([Finish(reason="stop", stop_sequence="END")])
    assert out == start() + message_end(
        "stop_sequence",
        '{"input_tokens":0,"output_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}',
        '"END"',
    )


def test_error_event() -> None:
    encoder = AnthropicStreamEncoder(message_id="m", model="x")
    assert encoder.error(529, "busy") == event(
        "error", '{"type":"error","error":{"type":"overloaded_error","message":"busy"}}'
    )


# Shaped like Anthropic's own stream (and fakellm's): ping, a thinking block, text, tool_use, usage at the end.
UPSTREAM = (
    start('{"input_tokens":25,"cache_creation_input_tokens":3,"cache_read_input_tokens":7,"output_tokens":1}')
    + event("ping", '{"type":"ping"}')
    + block_start(0, '{"type":"thinking","thinking":""}')
    + block_delta(0, '{"type":"thinking_delta","thinking":"hmm"}')
    + block_delta(0, '{"type":"signature_delta","signature":"sig"}')
    + block_stop(0)
    + block_start(1, '{"type":"text","text":""}')
    + block_delta(1, '{"type":"text_delta","text":"Na\\u00efve ✓"}')
    + block_stop(1)
    + block_start(2, '{"type":"tool_use","id":"toolu_1","name":"look","input":{}}')
    + block_delta(2, '{"type":"input_json_delta","partial_json":""}')
    + block_delta(2, '{"type":"input_json_delta","partial_json":"{\\"q\\": 1}"}')
    + block_stop(2)
    + message_end("tool_use", '{"output_tokens":42}')
)
UPSTREAM_DELTAS: list[StreamDelta] = [
    MessageStart(
        id="msg_1",
        model="claude-sonnet-4",
        usage=Usage(prompt_tokens=35, completion_tokens=1, cache_read_tokens=7, cache_write_tokens=3),
    ),
    TextDelta("Naïve ✓"),
    ToolCallStart(index=0, id="toolu_1", name="look"),
    ToolCallArguments(index=0, arguments='{"q": 1}'),
    Finish(reason="tool_calls"),
    UsageReport(Usage(prompt_tokens=35, completion_tokens=42, cache_read_tokens=7, cache_write_tokens=3)),
]


def decode_in_pieces(data: bytes, cuts: list[int]) -> list[StreamDelta]:
    decoder = AnthropicEventDecoder()
    bounds = [0, *sorted(cuts), len(data)]
    deltas = [delta for start, end in itertools.pairwise(bounds) for delta in decoder.feed(data[start:end])]
    return deltas + decoder.close()


def test_upstream_events_decode() -> None:
    assert decode_in_pieces(UPSTREAM, []) == UPSTREAM_DELTAS


def test_upstream_events_split_at_every_byte() -> None:
    for cut in range(len(UPSTREAM)):
        assert decode_in_pieces(UPSTREAM, [cut]) == UPSTREAM_DELTAS


@given(st.lists(st.integers(0, len(UPSTREAM)), max_size=40))
def test_upstream_events_split_anywhere(cuts: list[int]) -> None:
    assert decode_in_pieces(UPSTREAM, cuts) == UPSTREAM_DELTAS


def test_message_delta_with_input_counts_overrides_message_start() -> None:
    data = start('{"input_tokens":1,"output_tokens":1}') + message_end(
        "max_tokens", '{"input_tokens":9,"cache_read_input_tokens":2,"output_tokens":5}'
    )
    assert decode_in_pieces(data, [])[-2:] == [
        Finish(reason="length"),
        UsageReport(Usage(prompt_tokens=11, completion_tokens=5, cache_read_tokens=2)),
    ]


def test_error_event_raises_with_its_status() -> None:
    decoder = AnthropicEventDecoder()
    with pytest.raises(UpstreamStreamError) as caught:
        decoder.feed(event("error", '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'))
    assert (caught.value.upstream_status, caught.value.message) == (529, "Overloaded")


def test_truncated_stream_fails_on_close() -> None:
    decoder = AnthropicEventDecoder()
    decoder.feed(UPSTREAM[: UPSTREAM.index(b"event: message_delta")])
    with pytest.raises(UpstreamProtocolError):
        decoder.close()


def test_openai_upstream_to_anthropic_client_and_back() -> None:
    """Cross-format stream: OpenAI chunks → canonical → Anthropic events → canonical again, nothing lost."""
    chunks = OpenAIChunkEncoder(response_id="c", model="m", created=0, include_usage=True)
    deltas: list[StreamDelta] = [
        MessageStart(id="c", model="m"),
        TextDelta("hi"),
        ToolCallStart(index=0, id="call_1", name="f"),
        ToolCallArguments(index=0, arguments="{}"),
        Finish(reason="tool_calls"),
        UsageReport(Usage(prompt_tokens=8, completion_tokens=3, cache_read_tokens=2)),
    ]
    openai_bytes = b"".join(chunks.feed(delta) for delta in deltas) + chunks.close()
    openai_decoder = OpenAIChunkDecoder()
    canonical = openai_decoder.feed(openai_bytes) + openai_decoder.close()
    assert canonical == deltas
    anthropic_bytes = encode_all(canonical)
    again = decode_in_pieces(anthropic_bytes, [])
    assert again[1:] == deltas[1:]
    assert again[0] == MessageStart(id="msg_1", model="claude-sonnet-4", usage=Usage())
