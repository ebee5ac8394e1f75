"""The official google-genai and botocore clients, reaching an in-process gateway app (no socket in between).

google-genai takes an ``httpx.AsyncClient``, so it gets one on the app's ASGI transport. botocore has no
pluggable transport, but its ``before-send`` event may answer a request itself: the signed request it built is
sent to the app from the test's event loop (botocore runs in a thread), and the app's answer, event stream
included, is handed back to botocore's own parsers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import botocore.session
import httpx
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.config import Config
from google import genai
from google.genai import types
from litestar import Litestar

REGION = "us-east-1"
ANY_SECRET = "Tollway does not check it: the access key id is the Tollway key"


def gemini_client(app: Litestar, key: str, base_url: str, api_version: str | None = None) -> genai.Client:
    transport = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url)
    options = types.HttpOptions(
        base_url=base_url,
        api_version=api_version,
        httpx_async_client=transport,
        retry_options=types.HttpRetryOptions(attempts=1),
    )
    return genai.Client(api_key=key, http_options=options)


class _Body:
    """What botocore reads a response body through (``stream`` for content and event streams, ``close``)."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        # In pieces of every size, as a socket would deliver them: the event-stream parser must reassemble frames.
        for start, size in ((0, 7), (7, 100)):
            if start < len(self._body):
                yield self._body[start : start + size]
        for start in range(107, len(self._body), 4096):
            yield self._body[start : start + 4096]

    def read(self, *_: Any) -> bytes:
        return self._body

    def close(self) -> None:
        pass


class AsgiSender:
    """A ``before-send`` handler: the request goes to the app on ``loop``, the answer comes back to botocore."""

    def __init__(self, app: Litestar, loop: asyncio.AbstractEventLoop) -> None:
        self._app = app
        self._loop = loop
        self.last_headers: dict[str, str] = {}

    def __call__(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        status, headers, body = asyncio.run_coroutine_threadsafe(self._send(request), self._loop).result(timeout=30)
        self.last_headers = headers
        return AWSResponse(request.url, status, headers, _Body(body))

    async def _send(self, request: AWSPreparedRequest) -> tuple[int, dict[str, str], bytes]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=self._app)) as client:
            body = request.body if isinstance(request.body, bytes) else (request.body or b"")
            headers = {name: _text(value) for name, value in request.headers.items()}
            answer = await client.request(request.method, request.url, content=body, headers=headers)
        return answer.status_code, dict(answer.headers), answer.content


def _text(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


def bedrock_client(sender: AsgiSender, key: str | None, endpoint: str) -> Any:
    """botocore's bedrock-runtime client signing with the Tollway key as its access key id (or bearer, if unset)."""
    session = botocore.session.get_session()
    credentials = {"aws_access_key_id": key, "aws_secret_access_key": ANY_SECRET} if key else {}
    client = session.create_client(
        "bedrock-runtime",
        region_name=REGION,
        endpoint_url=endpoint,
        config=Config(retries={"total_max_attempts": 1}),  # no retry: each call is one request
        **credentials,
    )
    client.meta.events.register_first("before-send.bedrock-runtime.*", sender)
    return client
