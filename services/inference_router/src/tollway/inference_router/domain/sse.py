"""Server-sent events: an incremental parser that is indifferent to where the byte chunks split, and frame builders."""

from __future__ import annotations

import msgspec

DONE_FRAME = b"data: [DONE]\n\n"


class SseEvent(msgspec.Struct, frozen=True):
    """One dispatched event: its ``event:`` name (``None`` when unnamed) and its data lines joined by newlines."""

    event: str | None
    data: str


def data_frame(payload: bytes) -> bytes:
    """An unnamed event (OpenAI style)."""
    return b"data: " + payload + b"\n\n"


def named_frame(name: str, payload: bytes) -> bytes:
    """A named event (Anthropic style)."""
    return b"event: " + name.encode() + b"\ndata: " + payload + b"\n\n"


class SseParser:
    """Feeds arbitrary byte chunks, returns the events they complete (per the WHATWG event-stream rules).

    Lines end in LF, CRLF or CR; a CR at the very end of a chunk is held back because its LF may come next.
    A line is decoded only once complete, so a multi-byte UTF-8 character split across chunks is safe.
    """

    def __init__(self) -> None:
        self._buffer = b""
        self._pending: list[bytes] = []
        self._event: str | None = None
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[SseEvent]:
        events: list[SseEvent] = []
        for line in self._complete_lines(chunk):
            event = self._take_line(line.decode("utf-8", errors="replace"))
            if event is not None:
                events.append(event)
        return events

    def _complete_lines(self, chunk: bytes) -> list[bytes]:
        # Pieces of one long line are only collected, so a line arriving in many chunks is scanned once.
        if b"\n" not in chunk and b"\r" not in chunk:
            self._pending.append(chunk)
            return []
        pieces = b"".join([self._buffer, *self._pending, chunk]).splitlines(keepends=True)
        self._buffer, self._pending = b"", []
        if pieces and (not pieces[-1].endswith((b"\n", b"\r")) or pieces[-1].endswith(b"\r")):
            self._buffer = pieces.pop()
        return [piece.rstrip(b"\r\n") for piece in pieces]

    def _take_line(self, line: str) -> SseEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "data":
            self._data.append(value)
        elif field == "event":
            self._event = value
        return None

    def _dispatch(self) -> SseEvent | None:
        event, data = self._event, self._data
        self._event, self._data = None, []
        if not data:
            return None
        return SseEvent(event, "\n".join(data))
