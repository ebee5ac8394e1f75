"""A malformed message is terminated and recorded by its consumer, relayed, and stored once by error_monitor."""

from __future__ import annotations

import asyncio

from nats.aio.client import Client as NatsClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tollway.contracts import RequestCompletedV1
from tollway.contracts.streams import ROUTER_STREAM
from tollway.error_monitor.db.tables import errors
from tollway.platform.messaging import (
    ConsumerSpec,
    DeadLetterRecorder,
    JetStreamPublisher,
    Namespace,
    PullConsumer,
    ensure_stream,
)
from tollway.testing.exactly_once import EffectRecorder, analytics_tables, completed, create_effects_table
from tollway.testing.infra import LocalInfra
from tollway.testing.processes import eventually, service_env, service_process

SPEC = ConsumerSpec(
    stream=ROUTER_STREAM, durable="analytics_probe", filter_subject="router.request.completed.v1", fetch_timeout_s=0.2
)


async def test_poison_message_reaches_error_monitor_once(
    engine: AsyncEngine, database_url: str, nc: NatsClient, namespace: Namespace, test_infra: LocalInfra
) -> None:
    await create_effects_table(engine)
    effects = EffectRecorder(engine, "analytics_probe")
    env = {}
    for service in ("analytics", "error_monitor"):
        env.update(
            service_env(
                service,
                database_url=database_url,
                nats_url=test_infra.nats_url,
                redis_url=test_infra.redis_url,
                namespace=namespace.prefix,
            )
        )
    processes = [
        service_process("analytics", "relay", env).start(),
        service_process("error_monitor", "worker", env).start(),
    ]
    await ensure_stream(nc.jetstream(), ROUTER_STREAM, namespace)
    recorder = DeadLetterRecorder(engine, analytics_tables, "analytics")
    consumer = PullConsumer(nc, SPEC, RequestCompletedV1, effects, on_poison=recorder, ns=namespace)
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    publisher = JetStreamPublisher(nc.jetstream(), namespace)
    await publisher.publish_raw("router.request.completed.v1", b'{"type": "router.request.completed.v1"}', "bad")
    await publisher.publish(completed(1))

    async def stored() -> bool:
        async with engine.connect() as conn:
            return len((await conn.execute(select(errors))).all()) >= 1 and (await effects.counts())[0] == 1

    try:
        await eventually(stored, within=45, what="the poison report stored by error_monitor")
    finally:
        stop.set()
        await task
        for process in processes:
            process.stop()
    async with engine.connect() as conn:
        rows = (await conn.execute(select(errors))).all()
    assert len(rows) == 1
    assert (rows[0].service, rows[0].kind, rows[0].subject) == (
        "analytics",
        "poison_message",
        "router.request.completed.v1",
    )
    assert rows[0].fingerprint == "analytics:poison:analytics_probe"
