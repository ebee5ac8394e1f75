"""1,000 mixed requests (stream, non-stream, fallback, client disconnects) → exactly one event each on the stream."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Iterator

import httpx
import msgspec
import pytest
from nats.aio.client import Client as NatsClient
from nats.js.api import ConsumerConfig, DeliverPolicy
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tollway.contracts import RequestCompletedV1, RequestFailedV1
from tollway.platform.db import make_metadata
from tollway.platform.messaging import MessagingTables, Namespace
from tollway.testing.processes import ManagedProcess, eventually, service_process
from tollway.testing.stack import RouterUnderTest

EventOf = msgspec.json.Decoder(RequestCompletedV1 | RequestFailedV1)
outbox = MessagingTables(make_metadata("inference_router")).outbox
KINDS = ("plain", "stream", "fallback", "anthropic", "disconnect", "fail")


@pytest.fixture
def relay(router: RouterUnderTest) -> Iterator[ManagedProcess]:
    process = service_process("inference_router", "relay", router.env).start()
    yield process
    process.stop()


async def one(client: httpx.AsyncClient, router: RouterUnderTest, kind: str, request_id: str) -> None:
    body: dict[str, object] = {"messages": [{"role": "user", "content": "count to twenty"}]}
    headers = router.headers(request_id, api="anthropic" if kind == "anthropic" else "openai")
    body |= {
        "plain": {"model": "ok"},
        "stream": {"model": "claude-ok", "stream": True},
        "fallback": {"model": "fb-500"},
        "anthropic": {"model": "ok", "max_tokens": 64},
        "disconnect": {"model": "slow-stream", "stream": True},
        "fail": {"model": "all-fail"},
    }[kind]
    if not body.get("stream"):
        await client.post("/internal/v1/chat", headers=headers, json=body)
        return
    async with client.stream("POST", "/internal/v1/chat", headers=headers, json=body) as response:
        received = 0
        async for _ in response.aiter_raw():
            received += 1
            if kind == "disconnect" and received >= 3:
                break  # leaving the block closes the connection mid-stream


async def stream_events(nc: NatsClient, ns: Namespace) -> list[RequestCompletedV1 | RequestFailedV1]:
    js = nc.jetstream()
    sub = await js.pull_subscribe(
        ns.subject("router.request.>"),
        stream=ns.stream("ROUTER"),
        config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL),
    )
    events = []
    while True:
        try:
            batch = await sub.fetch(1000, timeout=1)
        except TimeoutError:
            break
        events += [EventOf.decode(msg.data) for msg in batch]
    await sub.unsubscribe()
    return events


@pytest.mark.slow
async def test_each_of_1000_mixed_requests_yields_exactly_one_event(
    router: RouterUnderTest, relay: ManagedProcess, nc: NatsClient, engine: AsyncEngine
) -> None:
    ns = Namespace(router.namespace)
    plan = [(random.Random(i).choice(KINDS), f"mix-{i:04d}") for i in range(1000)]
    limit = asyncio.Semaphore(40)
    async with httpx.AsyncClient(base_url=router.url, timeout=30) as client:

        async def bounded(kind: str, request_id: str) -> None:
            async with limit:
                await one(client, router, kind, request_id)

        await asyncio.gather(*(bounded(kind, rid) for kind, rid in plan))

    events: list[RequestCompletedV1 | RequestFailedV1] = []

    async def all_published() -> bool:
        events[:] = [e for e in await stream_events(nc, ns) if e.request_id.startswith("mix-")]
        return len({e.request_id for e in events}) >= 1000

    try:
        await eventually(all_published, within=60, interval=1.0, what="1000 events on the ROUTER stream")
    except AssertionError:
        seen = {e.request_id for e in events}
        missing = Counter(kind for kind, rid in plan if rid not in seen)
        lost = [rid for _, rid in plan if rid not in seen]
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(outbox.c.event_id, outbox.c.sent_at, outbox.c.attempts).where(outbox.c.event_id.in_(lost))
                )
            ).all()
        raise AssertionError(
            f"{len(seen)} of 1000 events; missing by kind: {dict(missing)}; in the outbox: {rows}"
        ) from None
    per_request = Counter(e.request_id for e in events)
    assert set(per_request) == {rid for _, rid in plan}
    assert max(per_request.values()) == 1
    kinds = {rid: kind for kind, rid in plan}
    cancelled = [e for e in events if isinstance(e, RequestCompletedV1) and e.status == "cancelled"]
    assert {e.request_id for e in cancelled} == {rid for rid, kind in kinds.items() if kind == "disconnect"}
    assert all(e.usage_estimated and 0 < e.completion_tokens < 200 and e.cost_micros > 0 for e in cancelled)
    failed = {e.request_id for e in events if isinstance(e, RequestFailedV1)}
    assert failed == {rid for rid, kind in kinds.items() if kind == "fail"}
    fallbacks = [e for e in events if isinstance(e, RequestCompletedV1) and kinds[e.request_id] == "fallback"]
    assert all(e.is_fallback and e.provider == "backup" for e in fallbacks)
