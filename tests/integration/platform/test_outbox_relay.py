"""The outbox relay publishes committed rows once, marks them sent after the PubAck, and shares work safely."""

from __future__ import annotations

import asyncio

from nats.aio.client import Client as NatsClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tollway.contracts.streams import ROUTER_STREAM
from tollway.platform.db import make_metadata
from tollway.platform.messaging import JetStreamPublisher, Namespace, OutboxRelay, add_to_outbox, ensure_stream
from tollway.platform.messaging.tables import MessagingTables
from tollway.testing.exactly_once import completed

router = MessagingTables(make_metadata("inference_router"))


async def stage(engine: AsyncEngine, start: int, count: int) -> None:
    async with engine.begin() as conn:
        await add_to_outbox(conn, router.outbox, [completed(i) for i in range(start, start + count)])


async def unsent(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        query = select(func.count()).select_from(router.outbox).where(router.outbox.c.sent_at.is_(None))
        return int((await conn.execute(query)).scalar_one())


async def stream_count(nc: NatsClient, ns: Namespace) -> int:
    info = await nc.jetstream().stream_info(ns.stream(ROUTER_STREAM.name))
    return int(info.state.messages)


async def test_relay_publishes_each_row_once_and_marks_it_sent(
    engine: AsyncEngine, nc: NatsClient, namespace: Namespace
) -> None:
    await ensure_stream(nc.jetstream(), ROUTER_STREAM, namespace)
    await stage(engine, 0, 120)
    relay = OutboxRelay(engine, router.outbox, JetStreamPublisher(nc.jetstream(), namespace), batch_size=50)

    results = [await relay.relay_once() for _ in range(4)]

    assert [r.sent for r in results] == [50, 50, 20, 0]
    assert await unsent(engine) == 0
    assert await stream_count(nc, namespace) == 120


async def test_concurrent_relays_share_rows_without_duplicates(
    engine: AsyncEngine, nc: NatsClient, namespace: Namespace
) -> None:
    await ensure_stream(nc.jetstream(), ROUTER_STREAM, namespace)
    await stage(engine, 0, 2000)
    publisher = JetStreamPublisher(nc.jetstream(), namespace)
    relays = [OutboxRelay(engine, router.outbox, publisher, batch_size=100) for _ in range(3)]
    stop = asyncio.Event()

    tasks = [asyncio.create_task(relay.run(stop)) for relay in relays]
    for _ in range(200):
        if await unsent(engine) == 0:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.gather(*tasks)

    assert await unsent(engine) == 0
    assert await stream_count(nc, namespace) == 2000


async def test_rows_stay_unsent_while_the_stream_is_missing(
    engine: AsyncEngine, nc: NatsClient, namespace: Namespace
) -> None:
    await stage(engine, 0, 10)
    relay = OutboxRelay(engine, router.outbox, JetStreamPublisher(nc.jetstream(), namespace, timeout_s=0.5))

    result = await relay.relay_once()

    assert (result.sent, result.failed) == (0, 10)
    assert await unsent(engine) == 10
    async with engine.connect() as conn:
        errors = (await conn.execute(select(router.outbox.c.attempts, router.outbox.c.last_error))).all()
    assert all(attempts == 1 and error for attempts, error in errors)

    await ensure_stream(nc.jetstream(), ROUTER_STREAM, namespace)
    assert (await relay.relay_once()).sent == 10
    assert await stream_count(nc, namespace) == 10


async def test_republishing_the_same_row_is_deduplicated_by_jetstream(
    engine: AsyncEngine, nc: NatsClient, namespace: Namespace
) -> None:
    await ensure_stream(nc.jetstream(), ROUTER_STREAM, namespace)
    publisher = JetStreamPublisher(nc.jetstream(), namespace)
    event = completed(1)

    first = await publisher.publish(event)
    second = await publisher.publish(event)

    assert not first.duplicate
    assert second.duplicate
    assert await stream_count(nc, namespace) == 1


async def published_within(engine: AsyncEngine, seconds: float) -> bool:
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        if await unsent(engine) == 0:
            return True
        await asyncio.sleep(0.02)
    return False


async def test_an_idle_relay_is_woken_by_the_commit_and_again_after_losing_its_listener(
    engine: AsyncEngine, nc: NatsClient, namespace: Namespace
) -> None:
    await ensure_stream(nc.jetstream(), ROUTER_STREAM, namespace)
    relay = OutboxRelay(engine, router.outbox, JetStreamPublisher(nc.jetstream(), namespace), idle_poll_s=60)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        await asyncio.sleep(0.5)  # idle: it would not poll again for a minute
        await stage(engine, 0, 5)
        woken = await published_within(engine, 2.0)
        async with engine.connect() as conn:  # Postgres drops the listening backend (a restart, an operator)
            terminate = "select pg_terminate_backend(pid) from pg_stat_activity where query like 'LISTEN%'"
            terminated = len((await conn.exec_driver_sql(terminate)).all())
        await asyncio.sleep(0.5)
        await stage(engine, 5, 5)
        woken_again = await published_within(engine, 2.0)
    finally:
        stop.set()
        await task

    assert terminated >= 1  # it was listening, not polling
    assert (woken, woken_again) == (True, True)
    assert await stream_count(nc, namespace) == 10
