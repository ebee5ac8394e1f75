"""The balances bucket: compare-and-set keeps every key's version monotonic under racing writers."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import msgspec
from nats.aio.client import Client as NatsClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.billing.conftest import completed, drained, kv_value, registered
from tollway.billing import handlers
from tollway.billing.balances import CoalescingBalances, KvBalances
from tollway.billing.bootstrap import BillingServices, build_services
from tollway.billing.consumers import subscriptions
from tollway.billing.db.tables import messaging
from tollway.billing.domain.ledger import BalanceSnapshot
from tollway.billing.settings import BillingSettings
from tollway.contracts.streams import BALANCES_BUCKET, BalanceValue
from tollway.platform.infra import Infra
from tollway.platform.messaging import JetStreamPublisher, Namespace, connect_nats
from tollway.platform.runner import run_consumers
from tollway.testing.infra import LocalInfra
from tollway.testing.processes import eventually


@asynccontextmanager
async def watching(nc: NatsClient, namespace: Namespace) -> AsyncIterator[dict[str, list[int]]]:
    """Every version each key takes, in the order the bucket stored them (up to the last write, when it ends)."""
    bucket = namespace.bucket(BALANCES_BUCKET.bucket)
    kv = await nc.jetstream().key_value(bucket)
    watcher = await kv.watchall()
    seen: dict[str, list[int]] = {}
    latest = [0]  # the highest bucket revision delivered so far

    async def collect() -> None:
        async for entry in watcher:
            if entry is not None and entry.value:
                seen.setdefault(entry.key, []).append(msgspec.json.decode(entry.value, type=BalanceValue).version)
                latest[0] = max(latest[0], entry.revision or 0)

    task = asyncio.create_task(collect())
    try:
        yield seen
    finally:
        last = (await nc.jetstream().stream_info(f"KV_{bucket}")).state.last_seq

        async def delivered() -> bool:
            return latest[0] >= last

        await eventually(delivered, within=10, what="every write made so far to reach the watcher")
        await watcher.stop()  # type: ignore[no-untyped-call]
        await task


async def test_racing_writers_never_move_a_version_backwards(
    infra: Infra, nc: NatsClient, namespace: Namespace, test_infra: LocalInfra
) -> None:
    other = await connect_nats(test_infra.nats_url, "second-worker")
    writers = [KvBalances(nc.jetstream(), namespace), KvBalances(other.jetstream(), namespace)]
    versions = list(range(1, 201))
    plans = [random.sample(versions, len(versions)) for _ in writers]  # each worker sees commits in its own order
    try:
        async with watching(nc, namespace) as seen:
            # Every commit of each worker is written on its own, all at once: the writes race each other.
            await asyncio.gather(
                *(
                    w.write_all([BalanceSnapshot("usr_race", -v, v)])
                    for w, plan in zip(writers, plans, strict=True)
                    for v in plan
                )
            )
            await writers[0].write(BalanceSnapshot("usr_race", 0, 3))  # a stale resync value arrives late
    finally:
        await other.drain()
    assert seen["usr_race"] == sorted(seen["usr_race"])
    assert seen["usr_race"][-1] == 200
    assert await kv_value(nc, namespace, "usr_race") == BalanceValue(-200, 200)


async def test_two_workers_consuming_together_leave_the_bucket_equal_to_the_ledger(
    infra: Infra,
    settings: BillingSettings,
    engine: AsyncEngine,
    nc: NatsClient,
    namespace: Namespace,
    publisher: JetStreamPublisher,
) -> None:
    sinks = [CoalescingBalances(KvBalances(nc.jetstream(), namespace), interval_s=0.01) for _ in range(2)]
    workers = [build_services(infra, settings, balances=sink) for sink in sinks]
    stop = asyncio.Event()
    async with watching(nc, namespace) as seen:
        tasks = [asyncio.create_task(_worker(infra, s, settings, stop)) for s in workers]
        tasks += [asyncio.create_task(sink.run(stop)) for sink in sinks]
        for user in ("usr_a", "usr_b", "usr_c"):
            await publisher.publish(registered(user))
        await asyncio.gather(
            *(publisher.publish(completed(f"r{i}", 100 + i, ("usr_a", "usr_b", "usr_c")[i % 3])) for i in range(600))
        )
        await eventually(lambda: drained(nc, namespace, "billing__request_completed"), within=30)
        await eventually(lambda: drained(nc, namespace, "billing__user_registered", "GATEWAY"), within=30)
        stop.set()
        await asyncio.gather(*tasks)
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT user_id, balance_micros, version FROM billing.accounts"))).all()
    assert len(rows) == 3
    for user_id, balance, version in rows:
        assert version == 201
        assert await kv_value(nc, namespace, user_id) == BalanceValue(balance, version)
        assert seen[user_id] == sorted(seen[user_id]), user_id


async def _worker(infra: Infra, services: BillingServices, settings: BillingSettings, stop: asyncio.Event) -> None:
    await run_consumers(infra, messaging, subscriptions(services, settings), stop)


async def test_resync_writes_every_account_and_skips_newer_values(
    services: BillingServices, nc: NatsClient, namespace: Namespace, engine: AsyncEngine
) -> None:
    s = services
    for user in ("usr_1", "usr_2"):
        await handlers.open_accounts(
            [registered(user)], s.ledger, s.balances, consumer="t", policy=s.policy, clock=s.clock
        )
    kv = await nc.jetstream().key_value(namespace.bucket(BALANCES_BUCKET.bucket))
    await kv.delete("usr_1")  # lost (e.g. a new NATS cluster)
    await kv.put("usr_2", msgspec.json.encode(BalanceValue(123, 99)))  # newer than the ledger's version 1
    fresh = KvBalances(nc.jetstream(), namespace)  # a restarted worker remembers nothing
    assert await fresh.prime() == 1  # usr_1 was deleted
    assert await handlers.resync_balances(s.ledger, fresh) == 2
    assert await kv_value(nc, namespace, "usr_1") == BalanceValue(5_000_000, 1)
    assert await kv_value(nc, namespace, "usr_2") == BalanceValue(123, 99)
