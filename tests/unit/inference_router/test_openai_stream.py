"""OpenAI streaming: canonical deltas → exact chunk frames, upstream chunk bytes (split anywhere) → deltas."""

import itertools

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tollway.inference_router.domain.canonical import Usage
from tollway.inference_router.domain.deltas import (
    Finish,
    MessageStart,
    StreamAccumulator,
    StreamDelta,
    TextDelta,
    ToolCallArguments,
    ToolCallStart,
    UsageReport,
)
from tollway.inference_router.domain.errors import UpstreamProtocolError, UpstreamStreamError
from tollway.inference_router.domain.openai_stream import OpenAIChunkDecoder, OpenAIChunkEncoder

HEAD = '{"id":"r1","object":"chat.completion.chunk","created":9,"model":"gpt-4o-mini","choices":'


def frame(choices: str, usage: str = "") -> bytes:
    return f"data: {HEAD}{choices}{usage}}}\n\n".encode()


def choice(delta: str, finish: str = "null") -> str:
    return f'[{{"index":0,"delta":{delta},"logprobs":null,"finish_reason":{finish}}}]'


def encoder(include_usage: bool = False) -> OpenAIChunkEncoder:
    return OpenAIChunkEncoder(response_id="r1", model="gpt-4o-mini", created=9, include_usage=include_usage)


def test_text_stream_frames_are_exact() -> None:
    chunks = encoder()
    deltas: list[StreamDelta] = [
        MessageStart(id="up", model="fake"),
        TextDelta("Hel"),
        TextDelta(""),
        TextDelta("lo"),
        Finish(reason="stop"),
        UsageReport(Usage(prompt_tokens=3, completion_tokens=2)),
    ]
    out = b"".join(chunks.feed(delta) for delta in deltas) + chunks.close()
    assert out == (
        frame(choice('{"role":"assistant","content":""}'))
        + frame(choice('{"content":"Hel"}'))
        + frame(choice('{"content":"lo"}'))
        + frame(choice("{}", '"stop"'))
        + b"data: [DONE]\n\n"
    )


def test_include_usage_adds_null_usage_and_a_usage_chunk() -> None:
    chunks = encoder(include_usage=True)
    out = chunks.feed(TextDelta("x")) + chunks.feed(Finish(reason="length"))
    out += chunks.feed(UsageReport(Usage(prompt_tokens=10, completion_tokens=1, cache_read_tokens=4)))
    out += chunks.close()
    usage = (
        ',"usage":{"prompt_tokens":10,"completion_tokens":1,"total_tokens":11,'
        '"prompt_tokens_details":{"cached_tokens":4},"completion_tokens_details":{"reasoning_tokens":0}}'
    )
    assert out == (
        frame(choice('{"role":"assistant","content":""}'), ',"usage":null')
        + frame(choice('{"content":"x"}'), ',"usage":null')
        + frame(choice("{}", '"length"'), ',"usage":null')
        + frame("[]", usage)
        + b"data: [DONE]\n\n"
    )


def test_close_with_an_estimate_overrides_reported_usage() -> None:
    chunks = encoder(include_usage=True)
    tail = chunks.close(Usage(prompt_tokens=7, completion_tokens=3, estimated=True))
    assert b'"prompt_tokens":7,"completion_tokens":3' in tail


def test_tool_call_frames() -> None:
    chunks = encoder()
    out = chunks.feed(ToolCallStart(index=0, id="call_1", name="look"))
    out += chunks.feed(ToolCallArguments(index=0, arguments='{"q":'))
    assert out == (
        frame(choice('{"role":"assistant","content":""}'))
        + frame(
            choice(
                '{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"look","arguments":""}}]}'
            )
        )
        + frame(choice('{"tool_calls":[{"index":0,"function":{"arguments":"{\\"q\\":"}}]}'))
    )


def test_error_frame() -> None:
    assert encoder().error(502, "all providers failed") == (
        b'data: {"error":{"message":"all providers failed","type":"server_error","param":null,"code":null}}\n\n'
    )


# Shaped like fakellm's and OpenAI's own streams: role chunk, content, tool-call pieces, finish, usage, [DONE].
UPSTREAM = (
    b'data: {"id":"chatcmpl-9","object":"chat.completion.chunk","created":1,"model":"fake-gpt","choices":'
    b'[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]}\n\n'
    b'data: {"id":"chatcmpl-9","choices":[{"index":0,"delta":{"content":"caf\xc3\xa9"},"finish_reason":null}]}\n\n'
    b'data: {"id":"chatcmpl-9","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_a","type":'
    b'"function","function":{"name":"look","arguments":""}}]},"finish_reason":null}]}\n\n'
    b'data: {"id":"chatcmpl-9","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":'
    b'{"arguments":"{\\"q\\":1}"}}]},"finish_reason":null}]}\n\n'
    b'data: {"id":"chatcmpl-9","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}\n\n'
    b'data: {"id":"chatcmpl-9","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17,'
    b'"prompt_tokens_details":{"cached_tokens":2},"completion_tokens_details":{"reasoning_tokens":1}}}\n\n'
    b"data: [DONE]\n\n"
)
UPSTREAM_DELTAS: list[StreamDelta] = [
    MessageStart(id="chatcmpl-9", model="fake-gpt"),
    TextDelta("café"),
    ToolCallStart(index=0, id="call_a", name="look"),
    ToolCallArguments(index=0, arguments='{"q":1}'),
    Finish(reason="tool_calls"),
    UsageReport(Usage(prompt_tokens=12, completion_tokens=5, cache_read_tokens=2, reasoning_tokens=1)),
]


def decode_in_pieces(data: bytes, cuts: list[int]) -> list[StreamDelta]:
    decoder = OpenAIChunkDecoder()
    bounds = [0, *sorted(cuts), len(data)]
    deltas = [delta for start, end in itertools.pairwise(bounds) for delta in decoder.feed(data[start:end])]
    return deltas + decoder.close()


def test_upstream_stream_decodes() -> None:
    assert decode_in_pieces(UPSTREAM, []) == UPSTREAM_DELTAS


def test_upstream_stream_split_at_every_byte() -> None:
    for cut in range(len(UPSTREAM)):
        assert decode_in_pieces(UPSTREAM, [cut]) == UPSTREAM_DELTAS


@given(st.lists(st.integers(0, len(UPSTREAM)), max_size=40))
def test_upstream_stream_split_anywhere(cuts: list[int]) -> None:
    assert decode_in_pieces(UPSTREAM, cuts) == UPSTREAM_DELTAS


def test_content_finish_and_usage_in_one_chunk_and_missing_tool_index() -> None:
    decoder = OpenAIChunkDecoder()
    deltas = decoder.feed(
        b'data: {"id":"x","model":"m","choices":[{"delta":{"content":"hi","tool_calls":[{"id":"t1","function":'
        b'{"name":"f","arguments":"{}"}}]},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1}}\n\n'
    )
    assert deltas == [
        MessageStart(id="x", model="m"),
        TextDelta("hi"),
        ToolCallStart(index=0, id="t1", name="f"),
        ToolCallArguments(index=0, arguments="{}"),
        Finish(reason="stop"),
        UsageReport(Usage(prompt_tokens=1, completion_tokens=1)),
    ]
    assert decoder.finished


def test_error_payload_in_stream_raises_with_its_status() -> None:
    decoder = OpenAIChunkDecoder()
    with pytest.raises(UpstreamStreamError) as caught:
        decoder.feed(b'data: {"error":{"message":"slow down","type":"requests","code":"rate_limit_exceeded"}}\n\n')
    assert (caught.value.upstream_status, caught.value.message) == (429, "slow down")


def test_truncated_stream_fails_on_close() -> None:
    decoder = OpenAIChunkDecoder()
    decoder.feed(UPSTREAM[: UPSTREAM.index(b'finish_reason":"tool_calls')])
    with pytest.raises(UpstreamProtocolError):
        decoder.close()


def test_garbage_chunk_is_a_protocol_error() -> None:
    with pytest.raises(UpstreamProtocolError):
        OpenAIChunkDecoder().feed(b"data: {not json\n\n")


def test_accumulator_rebuilds_the_response() -> None:
    accumulator = StreamAccumulator()
    for delta in UPSTREAM_DELTAS:
        accumulator.observe(delta)
    response = accumulator.response()
    assert response.tool_calls[0].arguments == '{"q":1}'
    assert (response.content, response.finish_reason, response.id) == ("café", "tool_calls", "chatcmpl-9")
    assert response.usage == Usage(prompt_tokens=12, completion_tokens=5, cache_read_tokens=2, reasoning_tokens=1)
    assert accumulator.delivered_chars == len("café") + len("look") + len('{"q":1}')


def test_accumulator_of_a_cut_stream() -> None:
    accumulator = StreamAccumulator()
    accumulator.observe(ToolCallArguments(index=1, arguments="{}"))
    response = accumulator.response()
    assert (response.content, response.finish_reason, response.usage) == (None, "stop", None)
    assert msgspec.structs.asdict(response.tool_calls[0]) == {"id": "", "name": "", "arguments": "{}"}
