"""A stream's closing frames wait for its usage event to be stored; everything before them does not."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import ClassVar

from tollway.contracts import RequestCompletedV1
from tollway.inference_router.domain.catalog import parse_catalog
from tollway.inference_router.domain.commands import ServeChat
from tollway.inference_router.domain.deltas import StreamDelta, TextDelta
from tollway.inference_router.domain.public_format import PublicFormat
from tollway.inference_router.domain.routing import plan_attempts
from tollway.inference_router.recording import UsageRecorder
from tollway.inference_router.relay import StreamRelay, relay_stream

CATALOG = b"""
providers: [{id: p, kind: openai_compatible, base_url: "http://127.0.0.1:9/v1"}]
models:
  - {id: m, context_window: 1000, max_output_tokens: 100, deployments: [{provider: p, upstream_model: u}],
     prices: {input: 1000000, output: 1000000, cache_read: 1, cache_write: 1}}
"""


class Reply:
    status = 200
    headers: ClassVar[dict[str, str]] = {}

    async def chunks(self) -> AsyncIterator[bytes]:
        yield b"two"

    def close(self) -> None:
        pass


class Decoder:
    finished = True

    def feed(self, chunk: bytes) -> list[StreamDelta]:
        return [TextDelta(chunk.decode())]

    def close(self) -> list[StreamDelta]:
        return []


class SlowStore:
    """A sink whose writes complete only when the test says so."""

    full = False

    def __init__(self) -> None:
        self.events: list[object] = []
        self.stored: asyncio.Future[None] | None = None

    def add(self, event: object) -> asyncio.Future[None]:
        self.events.append(event)
        self.stored = asyncio.get_running_loop().create_future()
        return self.stored


async def test_the_closing_frames_are_sent_only_once_the_event_is_stored() -> None:
    catalog = parse_catalog(CATALOG)
    model = catalog.model("m")
    assert model is not None
    attempt = plan_attempts(model, catalog.providers, strategy="primary_first", unavailable=set()).attempts[0]
    fmt = PublicFormat("openai")
    body = b'{"model": "m", "stream": true, "stream_options": {"include_usage": true}, '
    body += b'"messages": [{"role": "user", "content": "hi"}]}'
    request = fmt.decode(body)
    command = ServeChat(
        request_id="r1",
        api="openai",
        body=body,
        user_id="u",
        account_id="u",
        api_key_id="k",
        is_anonymous=False,
        routing_strategy="primary_first",
        started=time.monotonic(),
    )
    store = SlowStore()
    recorder = UsageRecorder(command, store, _Clock(), requested_model="m")
    relay = StreamRelay(
        request, model, attempt, Decoder(), fmt.stream_encoder(request, request_id="r1", model="m", created=0)
    )
    stream = relay_stream(Reply(), b"one", relay, recorder, 1)  # type: ignore[arg-type]

    first, second = await anext(stream), await anext(stream)  # upstream chunks flow without waiting
    closing = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0.05)
    assert b"one" in first
    assert b"two" in second
    assert not closing.done()  # the event is recorded but not stored: the end is held back
    assert [type(e) for e in store.events] == [RequestCompletedV1]

    assert store.stored is not None
    store.stored.set_result(None)
    tail = await closing
    assert b'"usage"' in tail
    assert tail.endswith(b"data: [DONE]\n\n")
    await stream.aclose()


class _Clock:
    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()
