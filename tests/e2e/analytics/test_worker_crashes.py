"""The analytics worker SIGKILLed three times while usage events stream in: every event stored exactly once."""

from __future__ import annotations

import asyncio
import functools
import random
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta

import pytest
from nats.aio.client import Client as NatsClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tollway.analytics.consumers import request_completed, request_failed
from tollway.analytics.db.tables import requests, rollups
from tollway.contracts import Event, ProviderAttemptV1, RequestCompletedV1, RequestFailedV1
from tollway.contracts.streams import ROUTER_STREAM
from tollway.platform.messaging import JetStreamPublisher, Namespace, ensure_stream
from tollway.testing.infra import LocalInfra
from tollway.testing.processes import eventually, kill_during_load, service_env, service_process

EVENTS = 2000
NOW = datetime.now(UTC)


def usage_events() -> list[Event]:
    rng = random.Random(2000)
    found: list[Event] = []
    for i in range(EVENTS):
        common = {
            "event_id": f"e2e-{i:05d}",
            "request_id": f"e2e-{i:05d}",
            "occurred_at": NOW - timedelta(minutes=rng.randrange(0, 600)),
            "user_id": f"user-{i % 13}",
            "account_id": f"acct-{i % 13}",
            "api_key_id": f"key-{i % 29}",
            "is_anonymous": False,
            "requested_model": f"model-{i % 4}",
        }
        if i % 10 == 9:
            attempt = ProviderAttemptV1(provider="p1", upstream_model="u1", error_class="timeout")
            found.append(RequestFailedV1(**common, error_class="timeout", status_code=504, attempts=(attempt,)))
            continue
        found.append(
            RequestCompletedV1(
                **common,
                provider=f"provider-{i % 3}",
                upstream_model="upstream",
                is_fallback=i % 7 == 0,
                attempts=1 + (i % 7 == 0),
                prompt_tokens=rng.randrange(1, 5_000),
                completion_tokens=rng.randrange(0, 2_000),
                cost_micros=rng.randrange(0, 50_000_000),
            )
        )
    return found


async def count_rows(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(requests))).scalar_one())


async def produce(publisher: JetStreamPublisher, events: list[Event]) -> None:
    # Paced like live traffic, so the kills land while events are still arriving.
    for start in range(0, len(events), 50):
        await asyncio.gather(*(publisher.publish(event) for event in events[start : start + 50]))
        await asyncio.sleep(0.1)


def in_parts(
    publisher: JetStreamPublisher, events: list[Event], count: int
) -> list[Callable[[], Coroutine[None, None, None]]]:
    size = len(events) // count
    return [functools.partial(produce, publisher, events[i * size : (i + 1) * size]) for i in range(count)]


async def drained(nc: NatsClient, namespace: Namespace) -> bool:
    js = nc.jetstream()
    for durable in (request_completed.DURABLE, request_failed.DURABLE):
        info = await js.consumer_info(namespace.stream(ROUTER_STREAM.name), namespace.durable(durable))
        if info.num_pending or info.num_ack_pending:
            return False
    return True


@pytest.mark.slow
async def test_worker_killed_three_times_stores_each_event_once_and_rollups_match_to_the_micro_dollar(
    engine: AsyncEngine, database_url: str, nc: NatsClient, namespace: Namespace, test_infra: LocalInfra
) -> None:
    env = service_env(
        "analytics",
        database_url=database_url,
        nats_url=test_infra.nats_url,
        redis_url=test_infra.redis_url,
        namespace=namespace.prefix,
        consumer_batch_size="200",
        consumer_ack_wait_s="2",  # what a crash strands comes back after 2 s, not the default 30
    )
    await ensure_stream(nc.jetstream(), ROUTER_STREAM, namespace)
    events = usage_events()
    worker = await kill_during_load(
        service_process("analytics", "worker", env).start(),
        in_parts(JetStreamPublisher(nc.jetstream(), namespace), events, 4),
        lambda: count_rows(engine),
    )
    try:
        await eventually(lambda: _more_than(engine, EVENTS - 1), within=30, what=f"{EVENTS} rows")
        await eventually(lambda: drained(nc, namespace), within=15, what="both consumers drained")
    finally:
        worker.stop()
    rows, distinct_ids, row_cost, rolled_requests, rolled_cost = await final_totals(engine)
    expected_cost = sum(e.cost_micros for e in events if isinstance(e, RequestCompletedV1))
    assert (rows, distinct_ids, rolled_requests) == (EVENTS, EVENTS, EVENTS), worker.output()[-2000:]
    assert row_cost == rolled_cost == expected_cost


async def final_totals(engine: AsyncEngine) -> tuple[int, ...]:
    """Rows, distinct ids and cost from the rows; requests and cost from the rollups."""
    r, u = requests.c, rollups.c
    async with engine.connect() as conn:
        from_rows = (
            await conn.execute(select(func.count(), func.count(r.request_id.distinct()), func.sum(r.cost_micros)))
        ).one()
        from_rollups = (await conn.execute(select(func.sum(u.requests), func.sum(u.cost_micros)))).one()
    return tuple(int(value) for value in (*from_rows, *from_rollups))


async def _more_than(engine: AsyncEngine, count: int) -> bool:
    return await count_rows(engine) > count
