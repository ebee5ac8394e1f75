"""Fixtures for inference_router unit tests: the fake upstream driven in-process (no sockets)."""

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

import pytest

from tollway.fakellm.asgi import app
from tollway.inference_router.domain.upstream import UpstreamRequest

Message = MutableMapping[str, Any]
Answer = tuple[int, dict[str, str], list[bytes]]
Send = Callable[[UpstreamRequest], Awaitable[Answer]]


async def send_to_fakellm(request: UpstreamRequest) -> Answer:
    """Deliver ``request`` to the fakellm ASGI app; returns status, headers and the body chunks as written."""
    incoming: list[Message] = [{"type": "http.request", "body": request.body}]
    sent: list[Message] = []

    async def receive() -> Message:
        if incoming:
            return incoming.pop(0)
        await asyncio.sleep(3600)  # a client that never hangs up
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": request.method,
        "path": urlsplit(request.url).path,
        "query_string": urlsplit(request.url).query.encode(),
        "headers": [(name.encode(), value.encode()) for name, value in request.headers],
    }
    await app(scope, receive, send)
    headers = {name.decode(): value.decode() for name, value in sent[0]["headers"]}
    return sent[0]["status"], headers, [m["body"] for m in sent if m["type"] == "http.response.body" and m["body"]]


@pytest.fixture
def fakellm() -> Send:
    return send_to_fakellm
