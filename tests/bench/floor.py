"""The floor: a bare ASGI app relaying bytes to the fake upstream over one shared aiohttp session (one Python hop)."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
SSE = "text/event-stream"


class Floor:
    """Forwards every request's path and body; streams ``text/event-stream`` answers chunk by chunk."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.session: aiohttp.ClientSession | None = None

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.lifespan(receive, send)
        elif scope["type"] == "http":
            await self.relay(scope, receive, send)

    async def lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.open()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.session is not None:
                    await self.session.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def open(self) -> aiohttp.ClientSession:
        if self.session is None:
            connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=60)
            timeout = aiohttp.ClientTimeout(total=60)
            self.session = aiohttp.ClientSession(connector=connector, timeout=timeout, auto_decompress=False)
        return self.session

    async def relay(self, scope: Message, receive: Receive, send: Send) -> None:
        body = await read_body(receive)
        headers = {"content-type": "application/json"}
        async with self.open().post(self.upstream + scope["path"], data=body, headers=headers) as upstream:
            content_type = upstream.headers.get("content-type", "application/json")
            if content_type.startswith(SSE):
                await send_stream(send, upstream, content_type)
            else:
                await send_whole(send, upstream.status, content_type, await upstream.read())


async def read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def send_whole(send: Send, status: int, content_type: str, body: bytes) -> None:
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def send_stream(send: Send, upstream: aiohttp.ClientResponse, content_type: str) -> None:
    headers = [(b"content-type", content_type.encode()), (b"cache-control", b"no-cache")]
    await send({"type": "http.response.start", "status": upstream.status, "headers": headers})
    async for chunk in upstream.content.iter_any():
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


app = Floor(os.environ.get("BENCH_FLOOR_UPSTREAM", "http://127.0.0.1:8090"))
