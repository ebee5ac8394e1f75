"""Warm keys cost no query; a revocation through one replica reaches every other within 5 s."""

from __future__ import annotations

import asyncio
import time

from nats.aio.client import Client as NatsClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.gateway.conftest import ADMIN, Client, ClientFactory, QueryCounter, app_engine
from tollway.gateway import handlers
from tollway.gateway.db.tables import api_keys, messaging
from tollway.gateway.db.uow import SqlAlchemyAccountStore
from tollway.platform.messaging import JetStreamPublisher, Namespace, OutboxRelay
from tollway.testing.processes import eventually

REVOCATION_BOUND_S = 5.0


async def issue_key(client: Client) -> tuple[str, str]:
    user = (await client.post("/admin/v1/users", json={}, headers=ADMIN)).json()
    key = (await client.post(f"/admin/v1/users/{user['id']}/api-keys", json={}, headers=ADMIN)).json()
    return key["key"], key["id"]


async def whoami(client: Client, key: str) -> int:
    return (await client.get("/test/whoami", headers={"Authorization": f"Bearer {key}"})).status_code


async def seconds_until_rejected(client: Client, key: str, bound: float = REVOCATION_BOUND_S) -> float:
    started = time.monotonic()
    while await whoami(client, key) != 401:
        assert time.monotonic() - started < bound, f"revoked key still accepted after {bound}s"
        await asyncio.sleep(0.02)
    return time.monotonic() - started


async def test_a_warm_key_authenticates_with_zero_queries(client: Client) -> None:
    key, key_id = await issue_key(client)
    queries = QueryCounter(app_engine(client))

    assert await whoami(client, key) == 200  # cold: one lookup
    cold = queries.count
    statuses = [await whoami(client, key) for _ in range(50)]
    anthropic_style = await client.get("/test/whoami", headers={"x-api-key": key})

    assert cold == 1
    assert statuses == [200] * 50
    assert anthropic_style.json()["api_key_id"] == key_id
    assert queries.count == cold


async def test_bad_keys_cost_at_most_one_query_each(client: Client) -> None:
    queries = QueryCounter(app_engine(client))
    malformed = [await whoami(client, bad) for bad in ("tw_nope", "sk-abc", "tw_" + "a" * 46)]
    assert (malformed, queries.count) == ([401] * 3, 0)  # rejected on format or checksum alone

    revoked_key, revoked_id = await issue_key(client)
    await client.delete(f"/admin/v1/api-keys/{revoked_id}", headers=ADMIN)
    queries.count = 0
    statuses = [await whoami(client, revoked_key) for _ in range(20)]
    assert statuses == [401] * 20
    assert queries.count == 1  # then negatively cached


async def test_revocation_through_one_replica_reaches_another_within_5s(gateway: ClientFactory) -> None:
    async with gateway() as first, gateway() as second:
        key, key_id = await issue_key(first)
        assert await whoami(first, key) == 200
        assert await whoami(second, key) == 200  # both replicas now hold the key warm
        queries = QueryCounter(app_engine(second))
        assert await whoami(second, key) == 200
        assert queries.count == 0

        revoked = await first.delete(f"/admin/v1/api-keys/{key_id}", headers=ADMIN)
        assert revoked.status_code == 200

        elapsed = await seconds_until_rejected(second, key)
        assert await whoami(first, key) == 401
    assert elapsed < REVOCATION_BOUND_S


async def test_the_outbox_relay_alone_also_delivers_revocations(
    gateway: ClientFactory, engine: AsyncEngine, nc: NatsClient, namespace: Namespace
) -> None:
    async with gateway() as replica:
        key, key_id = await issue_key(replica)
        assert await whoami(replica, key) == 200
        # Revoked elsewhere with no fast path (as if the publish after commit had failed).
        await handlers.revoke_api_key(SqlAlchemyAccountStore(engine), key_id, actor="test", fast_path=None)
        assert await whoami(replica, key) == 200  # still warm: nothing has told this replica yet

        relay = OutboxRelay(engine, messaging.outbox, JetStreamPublisher(nc.jetstream(), namespace))
        stop = asyncio.Event()
        relaying = asyncio.create_task(relay.run(stop))
        try:
            elapsed = await seconds_until_rejected(replica, key)
        finally:
            stop.set()
            await relaying
    assert elapsed < REVOCATION_BOUND_S


async def test_key_use_is_flushed_to_last_used_at(gateway: ClientFactory, engine: AsyncEngine) -> None:
    async with gateway(key_usage_flush_s=0.1) as replica:
        key, _ = await issue_key(replica)
        assert await whoami(replica, key) == 200

        async def recorded() -> bool:
            async with engine.connect() as conn:
                return (await conn.execute(select(api_keys.c.last_used_at))).scalar_one() is not None

        await eventually(recorded, within=5, what="last_used_at")
