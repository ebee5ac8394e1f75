"""Fixtures of the public-route tests: a fake router, started gateway apps, the balances bucket, Redis cleanup."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import pytest
from nats.aio.client import Client as NatsClient
from nats.js.kv import KeyValue
from redis.asyncio import Redis

from tests.integration.gateway.public.fakerouter import FakeRouter
from tests.integration.gateway.public.support import BASE, Gateway, GatewayFactory, until
from tollway.contracts import ALL_BUCKETS, ALL_STREAMS
from tollway.contracts.streams import BALANCES_BUCKET
from tollway.gateway.app import create_app
from tollway.gateway.settings import GatewaySettings
from tollway.platform.messaging import Namespace, provision
from tollway.platform.redis import RedisKeys


@pytest.fixture
async def fake_router(settings: GatewaySettings) -> AsyncIterator[FakeRouter]:
    router = FakeRouter(secret=settings.internal_secret.encode())
    await router.start()
    yield router
    await router.stop()


@pytest.fixture
async def gateway_redis_keys(redis_client: Redis, namespace: Namespace) -> AsyncIterator[RedisKeys]:
    """The gateway's keys under this test's namespace, deleted afterwards (day windows would linger a day)."""
    keys = RedisKeys("gateway", namespace.prefix)
    yield keys
    found = [key async for key in redis_client.scan_iter(match=keys.pattern, count=1000)]
    if found:
        await redis_client.delete(*found)


@pytest.fixture
def start_gateway(
    settings: GatewaySettings, fake_router: FakeRouter, nc: NatsClient, gateway_redis_keys: RedisKeys
) -> GatewayFactory:
    """Start a gateway app against the fake router; ``nc`` deletes the namespace's streams afterwards."""

    @asynccontextmanager
    async def start(wait_ready: bool = True, **overrides: Any) -> AsyncIterator[Gateway]:
        fields = {name: getattr(settings, name) for name in settings.__struct_fields__}
        # One loop runs every app, the fake router and the clients here: Redis calls may queue behind a burst.
        tuned = {"router_url": fake_router.url, "catalog_retry_s": 0.05, "limits_refresh_s": 0.2, "redis_timeout_s": 10}
        app = create_app(GatewaySettings(**{**fields, **tuned, **overrides}))
        # The app's own lifespan in this loop (Litestar's test client would run it in a thread of its own).
        async with app.lifespan(), httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url=BASE) as client:
            gateway = Gateway(app, client)
            if wait_ready:
                await until(
                    lambda: gateway.public.catalogue.current() is not None and gateway.public.balances.is_loaded()
                )
            yield gateway

    return start


@pytest.fixture
async def balances(nc: NatsClient, namespace: Namespace) -> KeyValue:
    """Billing's bucket, provisioned the way every service provisions it at start."""
    await provision(nc.jetstream(), ALL_STREAMS, ALL_BUCKETS, namespace)
    return await nc.jetstream().key_value(namespace.bucket(BALANCES_BUCKET.bucket))
