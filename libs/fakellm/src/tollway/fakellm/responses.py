"""ASGI plumbing: reading request bodies, sending JSON replies, and writing paced or truncated event streams."""

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

import msgspec

from tollway.fakellm.controls import Controls
from tollway.fakellm.errors import Provider, error_body

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]

_JSON = (b"content-type", b"application/json")
_SSE_HEADERS: Headers = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]


async def read_body(receive: Receive) -> bytes:
    message = await receive()
    body: bytes = message.get("body", b"")
    if not message.get("more_body"):
        return body  # the common case: one message carries the whole body
    chunks = [body]
    while message.get("more_body"):
        message = await receive()
        chunks.append(message.get("body", b""))
    return b"".join(chunks)


async def send_json(send: Send, status: int, body: bytes, extra_headers: Headers | None = None) -> None:
    headers = [_JSON, (b"content-length", str(len(body)).encode())]
    if extra_headers:
        headers.extend(extra_headers)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def send_error(send: Send, provider: Provider, status: int, message: str, retry_after: str | None = None) -> None:
    extra = [(b"retry-after", retry_after.encode())] if retry_after is not None else None
    await send_json(send, status, error_body(provider, status, message), extra)


async def send_bedrock_error(
    send: Send, status: int, error_type: str, message: str, retry_after: str | None = None
) -> None:
    """AWS's rest-json error: the error name in ``x-amzn-ErrorType`` (botocore reads it) and ``{"message"}``."""
    extra = [(b"x-amzn-errortype", error_type.encode())]
    if retry_after is not None:
        extra.append((b"retry-after", retry_after.encode()))
    await send_json(send, status, msgspec.json.encode({"message": message}), extra)


async def sleep_ms(milliseconds: float) -> None:
    if milliseconds > 0:
        await asyncio.sleep(milliseconds / 1000)


async def send_stream(
    send: Send,
    receive: Receive,
    events: Sequence[bytes],
    first_token: int,
    controls: Controls,
    *,
    content_type: bytes | None = None,
) -> None:
    """Write stream events (SSE unless ``content_type`` says otherwise).

    The preamble goes at once, then tokens after the TTFT delay, paced, maybe cut short.
    """
    headers = _SSE_HEADERS if content_type is None else [(b"content-type", content_type)]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    if not controls.first_token_delay_ms and not controls.tokens_per_second and controls.disconnect_after is None:
        # Nothing to pace or cut: one write is byte-identical for the client and far cheaper.
        await send({"type": "http.response.body", "body": b"".join(events)})
        return
    # Watch for the client hanging up, so a slow stream stops rather than writing into a closed socket.
    hangup = asyncio.ensure_future(receive())
    try:
        await _send_paced(send, hangup, events, first_token, controls)
    finally:
        hangup.cancel()


async def _send_paced(
    send: Send, hangup: "asyncio.Future[Message]", events: Sequence[bytes], first_token: int, controls: Controls
) -> None:
    interval_ms = 1000 / controls.tokens_per_second if controls.tokens_per_second else 0.0
    limit = len(events) if controls.disconnect_after is None else min(controls.disconnect_after, len(events))
    for index in range(limit):
        if index == first_token:
            await sleep_ms(controls.first_token_delay_ms)
        elif index > first_token:
            await sleep_ms(interval_ms)
        if hangup.done():
            return
        await send({"type": "http.response.body", "body": events[index], "more_body": True})
    if limit < len(events):
        # Returning without the final body message makes the server drop the connection mid-transfer,
        # exactly what a client sees from a crashed upstream (and quieter than raising).
        return
    await send({"type": "http.response.body", "body": b""})
