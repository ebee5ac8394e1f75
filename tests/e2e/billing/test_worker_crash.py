"""The billing worker SIGKILLed three times under a stream of usage events: every request debited exactly once."""

from __future__ import annotations

import asyncio
import functools
import sys
from collections.abc import Awaitable, Callable

import msgspec
import pytest
from nats.aio.client import Client as NatsClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tollway.contracts import RequestCompletedV1, UserRegisteredV1, encode
from tollway.contracts.streams import BALANCES_BUCKET, BalanceValue
from tollway.platform.messaging import JetStreamPublisher, Namespace
from tollway.testing.infra import LocalInfra
from tollway.testing.processes import (
    ManagedProcess,
    assert_billing_verifies,
    eventually,
    kill_during_load,
    service_env,
    service_process,
)

EVENTS = 2_000
USERS = [f"usr_{i:02d}" for i in range(20)]
SUBJECT = "router.request.completed.v1"


def usage(i: int) -> RequestCompletedV1:
    return RequestCompletedV1(
        event_id=f"req-{i:05d}",
        request_id=f"req-{i:05d}",
        user_id=USERS[i % len(USERS)],
        account_id=None,
        api_key_id="key_e2e",
        is_anonymous=False,
        requested_model="gpt-e2e",
        provider="fake",
        upstream_model="gpt-e2e-1",
        is_fallback=False,
        attempts=1,
        prompt_tokens=i % 300,
        completion_tokens=i % 700,
        cost_micros=1 + (i * 7_919) % 4_999,
    )


async def ledger(engine: AsyncEngine) -> tuple[int, int, int]:
    """(usage rows, distinct request ids, micro-USD debited)."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT count(*), count(DISTINCT metadata->>'request_id'), coalesce(-sum(amount_micros), 0) "
                    "FROM billing.transactions WHERE type = 'usage'"
                )
            )
        ).one()
    return int(row[0]), int(row[1]), int(row[2])


async def produce(publisher: JetStreamPublisher, part: range) -> None:
    """A steady stream, with producer retries: every tenth event is published again under a new message id."""
    for start in range(part.start, part.stop, 50):
        batch = [usage(i) for i in range(start, start + 50)]
        await asyncio.gather(*(publisher.publish(event) for event in batch))
        retries = [e for e in batch if int(e.request_id[4:]) % 10 == 0]
        await asyncio.gather(*(publisher.publish_raw(SUBJECT, encode(e), f"{e.event_id}-retry") for e in retries))
        await asyncio.sleep(0.12)


@pytest.mark.slow
async def test_worker_killed_three_times_debits_each_request_exactly_once(
    engine: AsyncEngine, database_url: str, nc: NatsClient, namespace: Namespace, test_infra: LocalInfra
) -> None:
    env = service_env(
        "billing",
        database_url=database_url,
        nats_url=test_infra.nats_url,
        redis_url=test_infra.redis_url,
        namespace=namespace.prefix,
        usage_batch_size="200",
        usage_ack_wait_s="3",  # a killed worker's unacked batch comes back after 3 s, not 30
    )
    worker = service_process("billing", "worker", env).start()
    publisher = JetStreamPublisher(nc.jetstream(), namespace)
    try:
        await eventually(lambda: _subscribed(nc, namespace), within=30, what="the worker's consumers")
        for user in USERS:
            await publisher.publish(UserRegisteredV1(event_id=f"reg-{user}", user_id=user))
        parts = [functools.partial(produce, publisher, range(i, i + 500)) for i in range(0, EVENTS, 500)]
        worker = await kill_during_load(worker, parts, _usage_rows(engine))
        await eventually(lambda: _all_settled(engine), within=45, what=f"{EVENTS} usage transactions")
        await eventually(lambda: _bucket_matches_ledger(engine, nc, namespace), within=20, what="balances bucket")
    finally:
        worker.stop()
        _show_log_on_failure(worker)
    rows, distinct, debited = await ledger(engine)
    assert (rows, distinct) == (EVENTS, EVENTS)
    assert debited == sum(usage(i).cost_micros for i in range(EVENTS))
    await assert_billing_verifies(env)


async def _subscribed(nc: NatsClient, namespace: Namespace) -> bool:
    try:
        await nc.jetstream().consumer_info(namespace.stream("ROUTER"), namespace.durable("billing__request_completed"))
    except Exception:
        return False
    return True


def _usage_rows(engine: AsyncEngine) -> Callable[[], Awaitable[int]]:
    async def rows() -> int:
        return (await ledger(engine))[0]

    return rows


async def _all_settled(engine: AsyncEngine) -> bool:
    return (await ledger(engine))[0] >= EVENTS


async def _bucket_matches_ledger(engine: AsyncEngine, nc: NatsClient, namespace: Namespace) -> bool:
    kv = await nc.jetstream().key_value(namespace.bucket(BALANCES_BUCKET.bucket))
    async with engine.connect() as conn:
        accounts = (await conn.execute(text("SELECT user_id, balance_micros, version FROM billing.accounts"))).all()
    for user_id, balance, version in accounts:
        try:
            entry = await kv.get(user_id)
        except Exception:
            return False
        if msgspec.json.decode(entry.value or b"", type=BalanceValue) != BalanceValue(balance, version):
            return False
    return len(accounts) == len(USERS)


def _show_log_on_failure(process: ManagedProcess) -> None:
    if sys.exc_info()[0] is not None:
        sys.stderr.write(process.output()[-5_000:])
