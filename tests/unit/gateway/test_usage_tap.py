"""Usage sniffed from relayed bytes: both APIs, plain and streamed, split anywhere, never fooled by content."""

from __future__ import annotations

import itertools
import json

from hypothesis import given
from hypothesis import strategies as st

from tollway.gateway.domain.usage import Usage, UsageTap

OPENAI_JSON = json.dumps(
    {
        "id": "c",
        "choices": [{"message": {"content": 'I print "usage": {"prompt_tokens": 999999}'}}],
        "usage": {
            "prompt_tokens": 12,
            "completion_tokens": 5,
            "total_tokens": 17,
            "prompt_tokens_details": {"cached_tokens": 4},
        },
    }
).encode()
ANTHROPIC_JSON = json.dumps(
    {
        "content": [],
        "usage": {
            "input_tokens": 10,
            "output_tokens": 7,
            "cache_read_input_tokens": 30,
            "cache_creation_input_tokens": 2,
        },
    }
).encode()
OPENAI_SSE = (
    b'data: {"choices":[{"delta":{"content":"a"}}],"usage":null}\n\n'
    b'data: {"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17}}\n\n'
    b"data: [DONE]\n\n"
)
ANTHROPIC_SSE = (
    b"event: message_start\n"
    b'data: {"type":"message_start","message":{"usage":{"input_tokens":25,"output_tokens":1}}}\n\n'
    b'event: content_block_delta\ndata: {"type":"content_block_delta","delta":{"text":"hi"}}\n\n'
    b'event: message_delta\ndata: {"type":"message_delta","usage":{"output_tokens":15}}\n\n'
    b'event: message_stop\ndata: {"type":"message_stop"}\n\n'
)


def tapped(data: bytes, *, stream: bool, cuts: list[int] | None = None) -> Usage | None:
    tap = UsageTap(stream=stream)
    bounds = [0, *sorted(cuts or []), len(data)]
    for start, end in itertools.pairwise(bounds):
        tap.feed(data[start:end])
    return tap.usage()


def test_openai_and_anthropic_bodies() -> None:
    assert tapped(OPENAI_JSON, stream=False) == Usage(12, 5)  # the quoted "usage" inside content is escaped
    assert tapped(ANTHROPIC_JSON, stream=False) == Usage(42, 7)  # cached input tokens count as prompt


def test_streams_use_the_final_counts() -> None:
    assert tapped(OPENAI_SSE, stream=True) == Usage(12, 5)
    assert tapped(ANTHROPIC_SSE, stream=True) == Usage(25, 15)  # cumulative output, not message_start's 1


def test_a_stream_cut_short_or_without_usage_is_unknown() -> None:
    assert tapped(ANTHROPIC_SSE[: ANTHROPIC_SSE.index(b"event: message_delta")], stream=True) is None
    assert tapped(OPENAI_SSE.replace(b"data: [DONE]\n\n", b""), stream=True) is None
    assert tapped(b'data: {"choices":[],"usage":null}\n\ndata: [DONE]\n\n', stream=True) is None
    assert tapped(b'{"error": {"message": "x"}}', stream=False) is None


@given(st.lists(st.integers(min_value=0, max_value=len(OPENAI_SSE)), max_size=8))
def test_any_chunking_of_a_stream_gives_the_same_usage(cuts: list[int]) -> None:
    assert tapped(OPENAI_SSE, stream=True, cuts=cuts) == Usage(12, 5)


@given(st.lists(st.integers(min_value=0, max_value=len(ANTHROPIC_JSON)), max_size=8))
def test_any_chunking_of_a_body_gives_the_same_usage(cuts: list[int]) -> None:
    assert tapped(ANTHROPIC_JSON, stream=False, cuts=cuts) == Usage(42, 7)


def test_a_usage_object_far_before_a_long_tail_is_still_found() -> None:
    body = b'{"usage": {"prompt_tokens": 3, "completion_tokens": 4}, "pad": "' + b"x" * 100_000 + b'"}'
    assert tapped(body, stream=False, cuts=list(range(0, len(body), 4096))) == Usage(3, 4)
