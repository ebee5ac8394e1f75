"""Crash scenarios: the relay process killed mid-stream, and the NATS server restarted under a consumer."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator

import pytest
from nats.aio.client import Client as NatsClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tollway.contracts import RequestCompletedV1
from tollway.contracts.streams import ROUTER_STREAM
from tollway.platform.db import make_metadata
from tollway.platform.messaging import (
    ConsumerSpec,
    DeadLetterRecorder,
    JetStreamPublisher,
    Namespace,
    PullConsumer,
    add_to_outbox,
    connect_nats,
    ensure_stream,
)
from tollway.platform.messaging.tables import MessagingTables
from tollway.testing.exactly_once import EffectRecorder, analytics_tables, completed
from tollway.testing.infra import LocalInfra
from tollway.testing.processes import PrivateNatsServer, eventually, kill_during_load, service_env, service_process

router = MessagingTables(make_metadata("inference_router"))
SPEC = ConsumerSpec(
    stream=ROUTER_STREAM,
    durable="test_consumer",
    filter_subject="router.request.completed.v1",
    batch_size=256,
    fetch_timeout_s=0.2,
)


async def sent_rows(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        query = select(func.count()).select_from(router.outbox).where(router.outbox.c.sent_at.is_not(None))
        return int((await conn.execute(query)).scalar_one())


async def consume_in_background(
    nc: NatsClient, namespace: Namespace, engine: AsyncEngine, effects: EffectRecorder
) -> tuple[asyncio.Event, asyncio.Task[None]]:
    recorder = DeadLetterRecorder(engine, analytics_tables, "analytics")
    consumer = PullConsumer(nc, SPEC, RequestCompletedV1, effects, on_poison=recorder, ns=namespace)
    stop = asyncio.Event()
    return stop, asyncio.create_task(consumer.run(stop))


@pytest.mark.slow
async def test_relay_killed_twice_loses_and_duplicates_nothing(
    engine: AsyncEngine,
    database_url: str,
    nc: NatsClient,
    namespace: Namespace,
    effects: EffectRecorder,
    test_infra: LocalInfra,
) -> None:
    await ensure_stream(nc.jetstream(), ROUTER_STREAM, namespace)
    stop, consumer = await consume_in_background(nc, namespace, engine, effects)
    env = service_env(
        "inference_router",
        database_url=database_url,
        nats_url=test_infra.nats_url,
        redis_url=test_infra.redis_url,
        namespace=namespace.prefix,
    )

    async def produce(part: range) -> None:
        for start in range(part.start, part.stop, 100):
            async with engine.begin() as conn:
                await add_to_outbox(conn, router.outbox, [completed(i) for i in range(start, start + 100)])
            await asyncio.sleep(0.02)

    parts = [functools.partial(produce, range(start, min(start + 1700, 5000))) for start in range(0, 5000, 1700)]
    relay = await kill_during_load(
        service_process("inference_router", "relay", env).start(),
        parts,
        lambda: sent_rows(engine),
        progress=200,
    )

    async def all_applied() -> bool:
        return (await effects.counts())[0] >= 5000

    try:
        await eventually(all_applied, within=60, what="5000 effects")
    finally:
        relay.stop()
        stop.set()
        await consumer
    assert await effects.counts() == (5000, 5000)
    assert await sent_rows(engine) == 5000


@pytest.fixture
async def private_nats() -> AsyncIterator[PrivateNatsServer]:
    server = PrivateNatsServer()
    server.start()
    yield server
    server.close()


@pytest.mark.slow
async def test_consumer_resumes_after_nats_restart(
    private_nats: PrivateNatsServer, namespace: Namespace, engine: AsyncEngine, effects: EffectRecorder
) -> None:
    nc = await connect_nats(private_nats.url, "restart-test")
    await ensure_stream(nc.jetstream(), ROUTER_STREAM, namespace)
    stop, consumer = await consume_in_background(nc, namespace, engine, effects)
    publisher = JetStreamPublisher(nc.jetstream(), namespace)
    for i in range(100):
        await publisher.publish(completed(i))
    await eventually(lambda: _applied(effects, 100), within=20, what="first 100 effects")

    private_nats.kill()
    await asyncio.sleep(1.0)
    private_nats.start()
    for i in range(100, 200):
        await _publish_with_retry(publisher, completed(i))

    try:
        await eventually(lambda: _applied(effects, 200), within=30, what="200 effects after the restart")
    finally:
        stop.set()
        await consumer
        await nc.close()
    assert await effects.counts() == (200, 200)


async def _applied(effects: EffectRecorder, count: int) -> bool:
    return (await effects.counts())[0] >= count


async def _publish_with_retry(publisher: JetStreamPublisher, event: RequestCompletedV1) -> None:
    for _ in range(100):
        try:
            await publisher.publish(event)
            return
        except Exception:
            await asyncio.sleep(0.1)
    raise AssertionError("could not publish after the restart")
