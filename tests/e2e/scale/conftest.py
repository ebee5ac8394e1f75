"""Fixtures of the scale tests: a local Redis Cluster per xdist worker, and the gateway fixtures pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from redis.asyncio.cluster import RedisCluster

from tests.e2e.scale.clusters import LocalRedisCluster
from tests.integration.gateway.conftest import ADMIN_KEY, PEPPER
from tests.integration.gateway.public.conftest import balances, fake_router, gateway_redis_keys, start_gateway
from tollway.gateway.settings import GatewaySettings
from tollway.platform.messaging import Namespace
from tollway.platform.redis import open_redis_cluster
from tollway.testing.infra import LocalInfra

__all__ = ["balances", "fake_router", "gateway_redis_keys", "start_gateway"]  # the gateway tests' own fixtures


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[LocalRedisCluster]:
    """Three masters on free ports, started once per worker; the machine's Redis on 6379 is never touched."""
    cluster = LocalRedisCluster().start()
    yield cluster
    cluster.close()


@pytest.fixture
async def redis_client(redis_cluster: LocalRedisCluster) -> AsyncIterator[RedisCluster]:
    """Replaces the plugin's single-server client: the gateway fixtures clean up and flush through it."""
    client = open_redis_cluster(redis_cluster.url)
    yield client
    await client.aclose()


@pytest.fixture
def settings(
    database_url: str, test_infra: LocalInfra, namespace: Namespace, redis_cluster: LocalRedisCluster
) -> GatewaySettings:
    """The gateway tests' settings with Redis Cluster instead of the single server."""
    return GatewaySettings(
        database_url=database_url,
        nats_url=test_infra.nats_url,
        redis_url=redis_cluster.url,
        namespace=namespace.prefix,
        admin_key=ADMIN_KEY,
        key_pepper=PEPPER,
    )
