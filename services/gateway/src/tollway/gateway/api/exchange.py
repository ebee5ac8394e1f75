"""Raw ASGI on the public routes: headers, a size-capped body, whole responses, and noticing a client leave."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tollway.gateway.domain.rejections import BadRequestError, BodyTooLargeError

Scope = dict[str, Any]
Receive = Any  # the ASGI callables; Litestar's own aliases are TypedDict-heavy and add nothing here
Send = Any
HeaderList = list[tuple[bytes, bytes]]


class ClientGoneError(Exception):
    """The client disconnected before its request body arrived."""


def request_headers(scope: Scope) -> dict[str, str]:
    """Lower-case names (ASGI guarantees it) to latin-1 values; a repeated header keeps its last value."""
    return {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}


async def read_body(headers: dict[str, str], receive: Receive, limit: int) -> bytes:
    """The whole body, refusing early on a large ``content-length`` and while reading a chunked one.

    Every public body is JSON, which is UTF-8 (RFC 8259): bytes that are not are a 400 here, on every hot route,
    since a route's envelope decodes only the fields it needs and would pass the rest on to the router unchecked.
    """
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLargeError(f"the request body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGoneError
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLargeError(f"the request body is larger than {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return _utf8(chunks[0] if len(chunks) == 1 else b"".join(chunks))


def _utf8(body: bytes) -> bytes:
    try:
        body.decode("utf-8")  # the ASCII fast path: microseconds for a typical body
    except UnicodeDecodeError:
        raise BadRequestError("the request body is not valid JSON (it is not UTF-8)") from None
    return body


def encode_headers(headers: Iterable[tuple[str, str]]) -> HeaderList:
    return [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]


async def send_whole(send: Send, status: int, headers: HeaderList, body: bytes) -> None:
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
