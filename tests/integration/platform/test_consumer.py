"""The pull consumer: exactly-once effects with the inbox, poison terminated and reported, flow never stalls."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import msgspec
import pytest
from nats.aio.client import Client as NatsClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tollway.contracts import ErrorReportedV1, RequestCompletedV1, decode, encode
from tollway.contracts.streams import ROUTER_STREAM
from tollway.platform.messaging import (
    ConsumerSpec,
    DeadLetterRecorder,
    JetStreamPublisher,
    Namespace,
    PullConsumer,
    ensure_stream,
)
from tollway.testing.exactly_once import EffectRecorder, analytics_tables, completed
from tollway.testing.processes import eventually

SPEC = ConsumerSpec(
    stream=ROUTER_STREAM,
    durable="test_consumer",
    filter_subject="router.request.completed.v1",
    batch_size=50,
    fetch_timeout_s=0.2,
    retry_delay_s=0.1,
    max_deliver=3,
)


@pytest.fixture
async def running(
    nc: NatsClient, namespace: Namespace, engine: AsyncEngine, effects: EffectRecorder
) -> AsyncIterator[JetStreamPublisher]:
    await ensure_stream(nc.jetstream(), ROUTER_STREAM, namespace)
    recorder = DeadLetterRecorder(engine, analytics_tables, "analytics")
    consumer = PullConsumer(nc, SPEC, RequestCompletedV1, effects, on_poison=recorder, ns=namespace)
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    yield JetStreamPublisher(nc.jetstream(), namespace)
    stop.set()
    await task


async def test_redelivered_and_republished_events_take_effect_once(
    running: JetStreamPublisher, nc: NatsClient, namespace: Namespace, effects: EffectRecorder
) -> None:
    events = [completed(i) for i in range(200)]
    for event in events:
        await running.publish(event)
    # The same ids again, on raw subjects with fresh msg ids: what a republish after the dedupe window looks like.
    for event in events[:50]:
        await running.publish_raw("router.request.completed.v1", encode(event), msg_id=f"again-{event.event_id}")

    async def all_applied() -> bool:
        return await effects.counts() == (200, 200) and effects.deliveries >= 250

    await eventually(all_applied, within=20, what="200 effects from 250 deliveries")
    assert await effects.counts() == (200, 200)


async def test_malformed_messages_are_terminated_recorded_and_reported(
    running: JetStreamPublisher, engine: AsyncEngine, effects: EffectRecorder
) -> None:
    await running.publish(completed(1))
    await running.publish_raw("router.request.completed.v1", b"{not json", msg_id="bad-1")
    await running.publish_raw("router.request.completed.v1", b'{"type": "router.request.completed.v1"}', msg_id="bad-2")
    for i in range(2, 30):
        await running.publish(completed(i))

    async def flowed() -> bool:
        return (await effects.counts())[0] == 29

    await eventually(flowed, within=20, what="the events after the poison to flow")
    async with engine.connect() as conn:
        dead = (await conn.execute(select(analytics_tables.dead_letters))).all()
        reports = (
            await conn.execute(select(analytics_tables.outbox.c.subject, analytics_tables.outbox.c.payload))
        ).all()
    assert sorted(row.payload for row in dead) == sorted([b"{not json", b'{"type": "router.request.completed.v1"}'])
    assert {row.consumer for row in dead} == {"test_consumer"}
    assert all(row.stream_sequence for row in dead)
    assert [subject for subject, _ in reports] == ["analytics.error.reported.v1"] * 2
    report = decode(ErrorReportedV1, reports[0].payload)
    assert report.kind == "poison_message"
    assert report.service == "analytics"


async def test_an_event_failing_every_delivery_is_dead_lettered_and_the_rest_flow(
    nc: NatsClient, namespace: Namespace, engine: AsyncEngine, effects: EffectRecorder
) -> None:
    await ensure_stream(nc.jetstream(), ROUTER_STREAM, namespace)

    async def handler(events: Sequence[RequestCompletedV1]) -> None:
        if any(e.request_id == "req-000007" for e in events):
            raise RuntimeError("cannot apply this one")
        await effects(events)

    recorder = DeadLetterRecorder(engine, analytics_tables, "analytics")
    consumer = PullConsumer(nc, SPEC, RequestCompletedV1, handler, on_poison=recorder, ns=namespace)
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    publisher = JetStreamPublisher(nc.jetstream(), namespace)
    for i in range(20):
        await publisher.publish(completed(i))

    async def settled() -> bool:
        async with engine.connect() as conn:
            dead = (await conn.execute(select(analytics_tables.dead_letters.c.error))).scalars().all()
        return (await effects.counts())[0] == 19 and len(dead) == 1

    await eventually(settled, within=20, what="19 effects and one dead letter")
    stop.set()
    await task


class _FlakySubscription:
    """A pull subscription whose fetch times out the way nats-py sometimes does: a plain asyncio.TimeoutError."""

    def __init__(self) -> None:
        self.fetches = 0

    async def fetch(self, batch: int, timeout: float) -> list[object]:
        self.fetches += 1
        await asyncio.sleep(0.01)
        raise TimeoutError

    async def unsubscribe(self) -> None:
        return None

    async def consumer_info(self) -> object:
        return type("Info", (), {"num_pending": 0})()


async def test_a_plain_timeout_from_fetch_is_an_empty_fetch_not_a_resubscribe(
    nc: NatsClient, namespace: Namespace, engine: AsyncEngine, effects: EffectRecorder
) -> None:
    recorder = DeadLetterRecorder(engine, analytics_tables, "analytics")
    consumer = PullConsumer(nc, SPEC, RequestCompletedV1, effects, on_poison=recorder, ns=namespace)
    flaky = _FlakySubscription()
    subscribes = 0

    async def subscribe(js: object) -> _FlakySubscription:
        nonlocal subscribes
        subscribes += 1
        return flaky

    consumer._subscribe = subscribe  # type: ignore[method-assign,assignment]
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    await asyncio.sleep(0.5)
    stop.set()
    await task

    assert flaky.fetches >= 10
    assert subscribes == 1


async def test_a_lingering_consumer_gathers_a_trickle_into_few_batches(
    nc: NatsClient, namespace: Namespace, engine: AsyncEngine, effects: EffectRecorder
) -> None:
    # At a few events per second each fetch returns one event, and one transaction per event cost the stack
    # more CPU than the requests themselves (issue 14); a short linger tops a small batch up first.
    await ensure_stream(nc.jetstream(), ROUTER_STREAM, namespace)
    batches: list[int] = []

    async def handler(events: Sequence[RequestCompletedV1]) -> None:
        batches.append(len(events))
        await effects(events)

    spec = msgspec.structs.replace(SPEC, durable="test_lingering", linger_s=0.3, linger_below=50)
    recorder = DeadLetterRecorder(engine, analytics_tables, "analytics")
    consumer = PullConsumer(nc, spec, RequestCompletedV1, handler, on_poison=recorder, ns=namespace)
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    publisher = JetStreamPublisher(nc.jetstream(), namespace)
    for i in range(20):
        await publisher.publish(completed(i))
        await asyncio.sleep(0.02)  # a trickle: 20 events over ~0.4 s

    async def applied() -> bool:
        return await effects.counts() == (20, 20)

    await eventually(applied, within=10, what="20 effects")
    stop.set()
    await task
    assert sum(batches) == 20
    assert len(batches) <= 4, batches


async def test_the_next_batch_is_fetched_while_the_handler_works_on_this_one(
    nc: NatsClient, namespace: Namespace, engine: AsyncEngine, effects: EffectRecorder
) -> None:
    # A consumer that fetched only after each commit spent the fetch's round trip and decoding idle beside its
    # database: half of a draining worker's time here (issue 14). The fetch ahead overlaps the two.
    await ensure_stream(nc.jetstream(), ROUTER_STREAM, namespace)
    publisher = JetStreamPublisher(nc.jetstream(), namespace)
    for i in range(120):
        await publisher.publish(completed(i))
    release, busy = asyncio.Event(), asyncio.Event()

    async def handler(events: Sequence[RequestCompletedV1]) -> None:
        busy.set()
        await release.wait()
        await effects(events)

    spec = msgspec.structs.replace(SPEC, durable="test_fetch_ahead")
    recorder = DeadLetterRecorder(engine, analytics_tables, "analytics")
    consumer = PullConsumer(nc, spec, RequestCompletedV1, handler, on_poison=recorder, ns=namespace)
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    await asyncio.wait_for(busy.wait(), 10)

    async def next_batch_delivered() -> bool:
        info = await nc.jetstream().consumer_info(namespace.stream(ROUTER_STREAM.name), namespace.durable(spec.durable))
        return bool(info.num_ack_pending == 2 * spec.batch_size)

    await eventually(next_batch_delivered, within=5, what="the second batch delivered during the first")
    release.set()
    await eventually(lambda: _counts_are(effects, 120), within=10, what="120 effects")
    stop.set()
    await task


async def test_a_batch_fetched_ahead_is_handed_back_at_stop_not_left_to_time_out(
    nc: NatsClient, namespace: Namespace, engine: AsyncEngine, effects: EffectRecorder
) -> None:
    await ensure_stream(nc.jetstream(), ROUTER_STREAM, namespace)
    publisher = JetStreamPublisher(nc.jetstream(), namespace)
    for i in range(100):
        await publisher.publish(completed(i))
    busy, release = asyncio.Event(), asyncio.Event()

    async def slow(events: Sequence[RequestCompletedV1]) -> None:
        busy.set()
        await release.wait()
        await effects(events)

    # ack_wait far beyond the test: only an explicit nak can bring the batch fetched ahead back in time
    spec = msgspec.structs.replace(SPEC, durable="test_hand_back", ack_wait_s=120.0)
    recorder = DeadLetterRecorder(engine, analytics_tables, "analytics")
    first = PullConsumer(nc, spec, RequestCompletedV1, slow, on_poison=recorder, ns=namespace)
    stop = asyncio.Event()
    task = asyncio.create_task(first.run(stop))
    await asyncio.wait_for(busy.wait(), 10)
    await asyncio.sleep(0.3)  # the batch ahead arrives
    stop.set()
    release.set()
    await task

    second = PullConsumer(nc, spec, RequestCompletedV1, effects, on_poison=recorder, ns=namespace)
    stop = asyncio.Event()
    task = asyncio.create_task(second.run(stop))
    await eventually(lambda: _counts_are(effects, 100), within=10, what="all 100 effects after the restart")
    stop.set()
    await task


async def _counts_are(effects: EffectRecorder, n: int) -> bool:
    return await effects.counts() == (n, n)
