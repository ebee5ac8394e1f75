"""The worker's consumers on real NATS: redeliveries, republished copies and two pullers on one durable."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from nats.aio.client import Client as NatsClient
from sqlalchemy.ext.asyncio import AsyncEngine

from tollway.analytics.consumers import request_completed, request_failed
from tollway.analytics.db.repositories import SqlAlchemyRequestLog
from tollway.analytics.db.tables import messaging
from tollway.analytics.domain.records import RequestRecord
from tollway.contracts import Event, encode, subject_of
from tollway.contracts.streams import ROUTER_STREAM
from tollway.platform.infra import Infra
from tollway.platform.messaging import JetStreamPublisher, Namespace, ensure_stream
from tollway.platform.runner import Subscription, run_consumers
from tollway.testing.processes import eventually


class CountingLog:
    """The real request log, counting the batches that reach it through one puller."""

    def __init__(self, log: SqlAlchemyRequestLog) -> None:
        self.log = log
        self.batches = 0

    async def add_once(self, consumer: str, records: Sequence[RequestRecord]) -> int:
        self.batches += 1
        return await self.log.add_once(consumer, records)


@asynccontextmanager
async def worker(
    nc: NatsClient, namespace: Namespace, engine: AsyncEngine, logs: Sequence[CountingLog], batch_size: int
) -> AsyncIterator[None]:
    """What ``python -m tollway.analytics worker`` runs: both consumers, one puller per log given."""
    infra = Infra(service="analytics", ns=namespace, engine=engine, nc=nc)
    subs: list[Subscription] = []
    for log in logs:
        subs += [
            request_completed.subscription(log, batch_size=batch_size),
            request_failed.subscription(log, batch_size=batch_size),
        ]
    stop = asyncio.Event()
    task = asyncio.create_task(run_consumers(infra, messaging, subs, stop))
    try:
        yield
    finally:
        stop.set()
        await task


async def publish(publisher: JetStreamPublisher, events: Sequence[Event], msg_id: Callable[[Event], str]) -> None:
    await publish_pairs(publisher, [(e, msg_id(e)) for e in events])


async def publish_pairs(publisher: JetStreamPublisher, pairs: Sequence[tuple[Event, str]]) -> None:
    # Sequential chunks keep the stream order of the list (gather within a chunk only reorders inside it).
    for start in range(0, len(pairs), 200):
        chunk = pairs[start : start + 200]
        await asyncio.gather(*(publisher.publish_raw(subject_of(e), encode(e), msg_id) for e, msg_id in chunk))


async def drained(nc: NatsClient, namespace: Namespace) -> bool:
    js = nc.jetstream()
    for durable in (request_completed.DURABLE, request_failed.DURABLE):
        info = await js.consumer_info(namespace.stream(ROUTER_STREAM.name), namespace.durable(durable))
        if info.num_pending or info.num_ack_pending:
            return False
    return True


async def test_redelivered_and_republished_events_are_stored_once(
    nc: NatsClient, namespace: Namespace, engine: AsyncEngine, events: Any, stored: Any
) -> None:
    await ensure_stream(nc.jetstream(), ROUTER_STREAM, namespace)
    publisher = JetStreamPublisher(nc.jetstream(), namespace)
    originals = [*(events.completed(i) for i in range(300)), *(events.failed(i) for i in range(30))]
    # Every third event is followed at once by a copy under a new message id (past JetStream's dedupe), so
    # both land in the same fetched batch.
    interleaved = [
        (e, f"{copy}-{e.event_id}") for i, e in enumerate(originals) for copy in ("a", "b")[: 1 + (i % 3 == 0)]
    ]
    await publish_pairs(publisher, interleaved)
    log = CountingLog(SqlAlchemyRequestLog(engine))
    async with worker(nc, namespace, engine, [log], batch_size=100):
        await eventually(lambda: _rows_at_least(stored, 330), within=20, what="330 rows")
        # After they were stored: a republish (new Nats-Msg-Id, e.g. a relay after its outbox was restored),
        # and a same-id publish that JetStream itself drops.
        await publish(publisher, originals[100:200], lambda e: f"republish-{e.event_id}")
        await publish(publisher, originals[:50], lambda e: e.event_id)
        await eventually(lambda: drained(nc, namespace), within=20, what="both consumers drained")
    state = await stored()
    assert (state.rows, state.distinct_ids) == (330, 330)
    assert state.from_rollups == state.from_rows
    assert state.from_rows["cost_micros"] == sum(getattr(e, "cost_micros", 0) for e in originals)
    assert state.from_rows["failures"] == 30


async def test_two_pullers_on_one_durable_share_the_work_and_store_each_request_once(
    nc: NatsClient, namespace: Namespace, engine: AsyncEngine, events: Any, stored: Any
) -> None:
    await ensure_stream(nc.jetstream(), ROUTER_STREAM, namespace)
    publisher = JetStreamPublisher(nc.jetstream(), namespace)
    originals = [events.completed(i, user_id=f"u{i % 4}", requested_model=f"m{i % 3}") for i in range(1000)]
    logs = [CountingLog(SqlAlchemyRequestLog(engine)) for _ in range(2)]
    async with worker(nc, namespace, engine, logs, batch_size=25):
        await publish(publisher, originals, lambda e: e.event_id)
        await publish(publisher, originals[::2], lambda e: f"copy-{e.event_id}")
        await eventually(lambda: _rows_at_least(stored, 1000), within=25, what="1000 rows")
        await eventually(lambda: drained(nc, namespace), within=20, what="both consumers drained")
    state = await stored()
    assert (state.rows, state.distinct_ids) == (1000, 1000)
    assert state.from_rollups == state.from_rows
    assert all(log.batches > 0 for log in logs), [log.batches for log in logs]


async def _rows_at_least(stored: Any, count: int) -> bool:
    return bool((await stored()).rows >= count)
