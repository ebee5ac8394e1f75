"""An open breaker answers 503 without touching the upstream, and every short-circuited request is recorded."""

from __future__ import annotations

import asyncio
import time
import uuid

import msgspec
from redis.asyncio import Redis

from tollway.contracts import Event
from tollway.inference_router.adapters.breakers_redis import RedisBreakerBook
from tollway.inference_router.bootstrap import SystemClock
from tollway.inference_router.domain.breaker import CircuitBreaker
from tollway.inference_router.domain.catalog import parse_catalog
from tollway.inference_router.domain.commands import ServeChat
from tollway.inference_router.domain.upstream import UpstreamRequest
from tollway.inference_router.handlers import RouterPorts, serve_chat
from tollway.inference_router.replies import ChatReply
from tollway.platform.redis import RedisKeys

CATALOG = b"""
providers: [{id: p, kind: openai_compatible, base_url: "http://127.0.0.1:9/v1"}]
models:
  - {id: m, context_window: 1000, max_output_tokens: 100, deployments: [{provider: p, upstream_model: u}],
     prices: {input: 1, output: 1, cache_read: 1, cache_write: 1}}
"""


class NoTransport:
    async def send(self, request: UpstreamRequest) -> object:
        raise AssertionError("an open breaker must not let a request through")


class Events:
    full = False

    def __init__(self) -> None:
        self.events: list[Event] = []

    def add(self, event: Event) -> asyncio.Future[None]:
        self.events.append(event)
        stored: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        stored.set_result(None)
        return stored


async def test_an_open_breaker_short_circuits_without_an_upstream_call(redis_client: Redis, redis_prefix: str) -> None:
    catalog = parse_catalog(CATALOG)
    book = RedisBreakerBook(redis_client, RedisKeys("inference_router", redis_prefix), CircuitBreaker())
    open_state = {"phase": "open", "open_until": time.time() + 60}
    await redis_client.set(
        RedisKeys("inference_router", redis_prefix).tagged("breaker", "breakers", "p/u"),
        msgspec.json.encode(open_state),
    )
    events = Events()
    ports = RouterPorts(
        catalog=catalog,
        adapters={},
        transport=NoTransport(),
        breakers=book,  # type: ignore[arg-type]
        usage=events,
        clock=SystemClock(),
    )
    body = b'{"model": "m", "messages": [{"role": "user", "content": "hi"}]}'
    for _ in range(50):
        command = ServeChat(
            request_id=uuid.uuid4().hex,
            api="openai",
            body=body,
            user_id="u",
            account_id="u",
            api_key_id="k",
            is_anonymous=False,
            routing_strategy="primary_first",
            started=time.monotonic(),
        )
        answer = await serve_chat(command, ports)  # NoTransport fails the test if anything is sent
        assert isinstance(answer, ChatReply)
        assert answer.status == 503

    assert len(events.events) == 50
