"""Durable publishing: acked by JetStream when it can be, spooled to the outbox when not, bounded either way."""

from __future__ import annotations

import asyncio

from nats.aio.client import Client as NatsClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tollway.contracts.streams import ROUTER_STREAM
from tollway.platform.db import make_engine, make_metadata
from tollway.platform.messaging import DurablePublisher, GroupCommitOutbox, JetStreamPublisher, Namespace, ensure_stream
from tollway.platform.messaging.tables import MessagingTables
from tollway.testing.exactly_once import completed

router = MessagingTables(make_metadata("inference_router"))
UNREACHABLE_DB = "postgresql+asyncpg://postgres@127.0.0.1:1/none"


async def outbox_rows(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(router.outbox))).scalar_one())


async def stream_count(nc: NatsClient, ns: Namespace) -> int:
    info = await nc.jetstream().stream_info(ns.stream(ROUTER_STREAM.name))
    return int(info.state.messages)


def durable(engine: AsyncEngine, nc: NatsClient, ns: Namespace, **options: object) -> DurablePublisher:
    publisher = JetStreamPublisher(nc.jetstream(), ns, timeout_s=0.3)
    return DurablePublisher(publisher, GroupCommitOutbox(engine, router.outbox, interval_s=0.01), **options)  # type: ignore[arg-type]


async def test_acked_events_are_on_the_stream_when_their_future_resolves_and_never_in_the_outbox(
    engine: AsyncEngine, nc: NatsClient, namespace: Namespace
) -> None:
    await ensure_stream(nc.jetstream(), ROUTER_STREAM, namespace)
    usage = durable(engine, nc, namespace)
    usage.start()

    await asyncio.gather(*(usage.add(completed(i)) for i in range(500)))

    assert await stream_count(nc, namespace) == 500
    assert (usage.published, usage.spooled, usage.pending) == (500, 0, 0)
    await usage.close()
    assert await outbox_rows(engine) == 0


async def test_events_nats_does_not_ack_are_committed_to_the_outbox_before_their_future_resolves(
    engine: AsyncEngine, nc: NatsClient, namespace: Namespace
) -> None:
    usage = durable(engine, nc, namespace)  # no stream declared: JetStream answers "no responders"
    usage.start()

    await asyncio.gather(*(usage.add(completed(i)) for i in range(50)))

    assert await outbox_rows(engine) == 50
    assert usage.spooled == 50
    await usage.close()


async def test_a_disconnected_client_goes_straight_to_the_outbox(
    engine: AsyncEngine, nc: NatsClient, namespace: Namespace
) -> None:
    await ensure_stream(nc.jetstream(), ROUTER_STREAM, namespace)
    usage = durable(engine, nc, namespace, connected=lambda: False)
    usage.start()

    await usage.add(completed(1))

    assert (await stream_count(nc, namespace), await outbox_rows(engine)) == (0, 1)
    await usage.close()


async def test_a_cancelled_waiter_does_not_cancel_the_write(
    engine: AsyncEngine, nc: NatsClient, namespace: Namespace
) -> None:
    await ensure_stream(nc.jetstream(), ROUTER_STREAM, namespace)
    usage = durable(engine, nc, namespace)
    usage.start()
    stored = usage.add(completed(1))
    waiter = asyncio.ensure_future(asyncio.shield(stored))
    await asyncio.sleep(0)
    waiter.cancel()

    await usage.close()

    assert stored.done()
    assert not stored.cancelled()
    assert await stream_count(nc, namespace) == 1


async def test_with_nats_and_postgres_both_down_the_buffer_fills_up_to_its_capacity(
    nc: NatsClient, namespace: Namespace
) -> None:
    down = make_engine(UNREACHABLE_DB, application_name="tests")
    fallback = GroupCommitOutbox(down, router.outbox, interval_s=0.01)
    publisher = JetStreamPublisher(nc.jetstream(), namespace, timeout_s=0.3)
    usage = DurablePublisher(publisher, fallback, capacity=20, connected=lambda: False)
    usage.start()

    stored = [usage.add(completed(i)) for i in range(19)]
    await asyncio.sleep(0.1)
    assert (usage.pending, usage.full) == (19, False)
    stored.append(usage.add(completed(19)))
    assert usage.full
    assert not any(s.done() for s in stored)

    await usage.close(within_s=0.2)  # a live process keeps retrying them until a store is back
    await down.dispose()


async def test_close_ends_in_bounded_time_when_neither_store_is_reachable(nc: NatsClient, namespace: Namespace) -> None:
    down = make_engine(UNREACHABLE_DB, application_name="tests")
    usage = durable(down, nc, namespace, connected=lambda: False)
    usage.start()
    stored = usage.add(completed(1))

    await asyncio.wait_for(usage.close(within_s=0.5), timeout=5)

    assert stored.cancelled()
    await down.dispose()
