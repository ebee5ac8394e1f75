"""Billing on real Postgres/NATS: settings, services, a running worker's consumers, and sample events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

import msgspec
import pytest
from nats.aio.client import Client as NatsClient
from nats.js.errors import NotFoundError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tollway.billing.balances import KvBalances
from tollway.billing.bootstrap import BillingServices, build_services
from tollway.billing.consumers import subscriptions
from tollway.billing.db.tables import messaging
from tollway.billing.settings import BillingSettings
from tollway.contracts import ALL_BUCKETS, ALL_STREAMS, RequestCompletedV1, UserRegisteredV1
from tollway.contracts.streams import BALANCES_BUCKET, BalanceValue
from tollway.platform.infra import Infra
from tollway.platform.messaging import JetStreamPublisher, Namespace, provision
from tollway.platform.runner import run_consumers
from tollway.testing.infra import LocalInfra

SECRET = "billing-integration-secret"
Consumers = Callable[[], Any]


def completed(request_id: str, cost: int, user_id: str | None = "usr_1", **fields: Any) -> RequestCompletedV1:
    values: dict[str, Any] = {
        "event_id": request_id,
        "request_id": request_id,
        "user_id": user_id,
        "account_id": None,
        "api_key_id": "key_1",
        "is_anonymous": False,
        "requested_model": "gpt-test",
        "provider": "fake",
        "upstream_model": "gpt-test-1",
        "is_fallback": False,
        "attempts": 1,
        "prompt_tokens": 10,
        "completion_tokens": 20,
        "cost_micros": cost,
    }
    return RequestCompletedV1(**{**values, **fields})


def registered(user_id: str, **fields: Any) -> UserRegisteredV1:
    return UserRegisteredV1(**{"event_id": f"reg-{user_id}", "user_id": user_id, **fields})


@pytest.fixture
def settings(database_url: str, test_infra: LocalInfra, namespace: Namespace) -> BillingSettings:
    return BillingSettings(
        database_url=database_url,
        nats_url=test_infra.nats_url,
        namespace=namespace.prefix,
        internal_secret=SECRET,
        usage_batch_size=500,
    )


@pytest.fixture
async def infra(engine: AsyncEngine, nc: NatsClient, namespace: Namespace) -> Infra:
    await provision(nc.jetstream(), ALL_STREAMS, ALL_BUCKETS, namespace)
    return Infra(service="billing", ns=namespace, engine=engine, nc=nc)


@pytest.fixture
def services(infra: Infra, settings: BillingSettings) -> BillingServices:
    return build_services(infra, settings)


@pytest.fixture
def publisher(nc: NatsClient, namespace: Namespace) -> JetStreamPublisher:
    return JetStreamPublisher(nc.jetstream(), namespace)


@pytest.fixture
def consumers(infra: Infra, services: BillingServices, settings: BillingSettings) -> Callable[[], Any]:
    """``async with consumers():`` runs the worker's consumers in this process until the block ends."""

    @asynccontextmanager
    async def running() -> AsyncIterator[None]:
        stop = asyncio.Event()
        task = asyncio.create_task(run_consumers(infra, messaging, subscriptions(services, settings), stop))
        try:
            yield
        finally:
            stop.set()
            await task

    return running


async def scalar(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar_one()


async def kv_value(nc: NatsClient, namespace: Namespace, user_id: str) -> BalanceValue:
    kv = await nc.jetstream().key_value(namespace.bucket(BALANCES_BUCKET.bucket))
    entry = await kv.get(user_id)
    return msgspec.json.decode(entry.value or b"", type=BalanceValue)


async def drained(nc: NatsClient, namespace: Namespace, durable: str, stream: str = "ROUTER") -> bool:
    """Every message stored so far was delivered to ``durable`` and acked (so its transaction committed)."""
    try:
        info = await nc.jetstream().consumer_info(namespace.stream(stream), namespace.durable(durable))
    except NotFoundError:
        return False  # not subscribed yet
    return info.num_pending == 0 and info.num_ack_pending == 0 and (info.delivered.stream_seq or 0) > 0


def spawn(coroutine: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
    return asyncio.create_task(coroutine)


__all__ = ["SECRET", "KvBalances", "completed", "drained", "kv_value", "registered", "scalar", "spawn"]
