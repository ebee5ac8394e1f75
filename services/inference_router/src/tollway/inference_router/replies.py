"""What a chat call answers: a complete body, or a stream the API layer relays as it is produced."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field

JSON = "application/json"
SSE = "text/event-stream"


@dataclass(frozen=True)
class ChatReply:
    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str = JSON


@dataclass(frozen=True)
class ChatStream:
    """A stream already committed to one deployment; the API layer iterates ``chunks`` and then calls ``abandon``.

    ``abandon`` (always, in a ``finally``) closes the upstream and records the stream if nothing recorded it yet,
    so a client gone early still costs exactly one event.
    """

    chunks: AsyncGenerator[bytes, None]
    abandon: Callable[[], None]
    status: int = 200
    headers: tuple[tuple[str, str], ...] = field(default=())
    content_type: str = SSE
