"""SSE parsing: line endings, fields, comments, and invariance to where the byte chunks split."""

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from tollway.inference_router.domain.sse import DONE_FRAME, SseEvent, SseParser, data_frame, named_frame

STREAM = (
    b'event: message_start\r\ndata: {"a":1}\r\n\r\n'
    b": keep-alive comment\n\n"
    b"data: line one\ndata: line two\n\n"
    b"event: ping\rdata:no-space\r\r"
    b"id: 7\nretry: 100\ndata: caf\xc3\xa9 \xe2\x9c\x93\n\n"
    b"data: [DONE]\n\n"
)
EXPECTED = [
    SseEvent("message_start", '{"a":1}'),
    SseEvent(None, "line one\nline two"),
    SseEvent("ping", "no-space"),
    SseEvent(None, "café ✓"),
    SseEvent(None, "[DONE]"),
]


def parse_in_pieces(data: bytes, cuts: list[int]) -> list[SseEvent]:
    parser = SseParser()
    events: list[SseEvent] = []
    bounds = [0, *sorted(cuts), len(data)]
    for start, end in itertools.pairwise(bounds):
        events += parser.feed(data[start:end])
    return events


def test_whole_stream_parses_every_event_kind() -> None:
    assert SseParser().feed(STREAM) == EXPECTED


def test_every_single_byte_split_gives_the_same_events() -> None:
    for cut in range(len(STREAM) + 1):
        assert parse_in_pieces(STREAM, [cut]) == EXPECTED, cut


def test_byte_at_a_time() -> None:
    assert parse_in_pieces(STREAM, list(range(len(STREAM)))) == EXPECTED


@settings(deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=30))
def test_split_invariance(cuts: list[int]) -> None:
    assert parse_in_pieces(STREAM, cuts) == EXPECTED


def test_long_line_in_many_small_chunks() -> None:
    parser = SseParser()
    payload = b"data: " + b"x" * 10_000 + b"\n\n"
    events = [event for i in range(0, len(payload), 7) for event in parser.feed(payload[i : i + 7])]
    assert events == [SseEvent(None, "x" * 10_000)]


def test_event_without_blank_line_is_not_dispatched() -> None:
    parser = SseParser()
    assert parser.feed(b"data: partial\n") == []
    assert parser.feed(b"\n") == [SseEvent(None, "partial")]


def test_cr_at_chunk_end_waits_for_a_possible_lf() -> None:
    parser = SseParser()
    assert parser.feed(b"data: x\r") == []
    assert parser.feed(b"\n\r\n") == [SseEvent(None, "x")]


def test_event_name_without_data_is_dropped_and_reset() -> None:
    assert SseParser().feed(b"event: lonely\n\ndata: y\n\n") == [SseEvent(None, "y")]


def test_frames() -> None:
    assert data_frame(b"{}") == b"data: {}\n\n"
    assert named_frame("ping", b"{}") == b"event: ping\ndata: {}\n\n"
    assert DONE_FRAME == b"data: [DONE]\n\n"
