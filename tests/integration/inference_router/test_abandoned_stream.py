"""A stream the client abandons before its first byte is still recorded once and releases its upstream."""

from __future__ import annotations

import asyncio
import time
from typing import ClassVar

from tollway.inference_router.api.chat import _send_stream
from tollway.inference_router.domain.catalog import parse_catalog
from tollway.inference_router.domain.commands import ServeChat
from tollway.inference_router.domain.deltas import StreamDelta
from tollway.inference_router.domain.public_format import PublicFormat
from tollway.inference_router.domain.routing import plan_attempts
from tollway.inference_router.recording import UsageRecorder
from tollway.inference_router.relay import StreamRelay, abandon_stream, relay_stream
from tollway.inference_router.replies import ChatStream

CATALOG = b"""
providers: [{id: p, kind: openai_compatible, base_url: "http://127.0.0.1:9/v1"}]
models:
  - {id: m, context_window: 1000, max_output_tokens: 100, deployments: [{provider: p, upstream_model: u}],
     prices: {input: 1000000, output: 1000000, cache_read: 1, cache_write: 1}}
"""


class Reply:
    status = 200
    headers: ClassVar[dict[str, str]] = {}
    closed = False

    async def chunks(self):  # type: ignore[no-untyped-def]
        yield b""

    def close(self) -> None:
        self.closed = True


class Decoder:
    finished = False

    def feed(self, chunk: bytes) -> list[StreamDelta]:
        return []

    def close(self) -> list[StreamDelta]:
        return []


class Sink:
    full = False

    def __init__(self) -> None:
        self.events: list[object] = []

    def add(self, event: object) -> asyncio.Future[None]:
        self.events.append(event)
        stored: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        stored.set_result(None)
        return stored


class Clock:
    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()


async def test_client_gone_before_the_first_byte_still_records_and_closes_upstream() -> None:
    catalog = parse_catalog(CATALOG)
    model = catalog.model("m")
    assert model is not None
    attempt = plan_attempts(model, catalog.providers, strategy="primary_first", unavailable=set()).attempts[0]
    fmt = PublicFormat("openai")
    request = fmt.decode(b'{"model": "m", "stream": true, "messages": [{"role": "user", "content": "hi"}]}')
    command = ServeChat(
        request_id="r1",
        api="openai",
        body=b"",
        user_id="u",
        account_id="u",
        api_key_id="k",
        is_anonymous=False,
        routing_strategy="primary_first",
        started=time.monotonic(),
    )
    sink = Sink()
    recorder = UsageRecorder(command, sink, Clock(), requested_model="m")
    reply = Reply()
    relay = StreamRelay(
        request, model, attempt, Decoder(), fmt.stream_encoder(request, request_id="r1", model="m", created=0)
    )
    stream = ChatStream(
        relay_stream(reply, b"", relay, recorder, 1),  # type: ignore[arg-type]
        abandon=lambda: abandon_stream(reply, relay, recorder, 1),
    )  # type: ignore[arg-type]

    async def gone(message: object) -> None:
        raise OSError("client went away")

    async def receive() -> dict[str, object]:
        return {"type": "http.disconnect"}

    await _send_stream(gone, receive, stream, "r1")

    assert reply.closed
    assert len(sink.events) == 1
    assert getattr(sink.events[0], "status", None) == "cancelled"
