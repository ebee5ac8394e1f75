"""Pytest plugin: kind markers from the path, a loud infra check, and isolated real infrastructure per test."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from nats.aio.client import Client as NatsClient
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from tollway.platform.db import make_engine
from tollway.platform.messaging import Namespace, connect_nats
from tollway.testing.infra import LocalInfra
from tollway.testing.namespaces import delete_namespace_streams
from tollway.testing.postgres import create_migrated_database, drop_database, truncate_all

# Service processes started by tests inherit this: they may use the development secrets.
os.environ.setdefault("TOLLWAY_ENV", "development")

KINDS = ("unit", "contract", "integration", "e2e")
# An e2e test's first setup boots a whole stack (a dozen Python processes); on a 2-core CI machine that runs
# other suites beside it, the boot alone can take minutes, so e2e tests get this budget instead of the default.
E2E_TIMEOUT_S = 420


def pytest_itemcollected(item: pytest.Item) -> None:
    parts = Path(str(item.path)).parts
    for kind in KINDS:
        if kind in parts:
            item.add_marker(getattr(pytest.mark, kind))
    if "e2e" in parts and item.get_closest_marker("timeout") is None:
        item.add_marker(pytest.mark.timeout(E2E_TIMEOUT_S))


def pytest_sessionstart(session: pytest.Session) -> None:
    # Checked once per process: a missing service stops the run with the fix, it never turns into skips.
    problems = LocalInfra.from_env().unreachable()
    if problems:
        pytest.exit("test infrastructure unreachable:\n  " + "\n  ".join(problems), returncode=3)


@pytest.fixture(scope="session")
def test_infra() -> LocalInfra:
    return LocalInfra.from_env()


@pytest.fixture(scope="session")
def migrated_database_url(test_infra: LocalInfra, request: pytest.FixtureRequest) -> Iterator[str]:
    """One database per xdist worker with every service's migrations applied (migrations tested each run).

    Named after the run too, so two test runs on one machine (or two developers' sessions) never share one.
    """
    # xdist names each worker and the run; without xdist (``-p no:xdist``) this process is the only worker.
    worker = getattr(request.config, "workerinput", {"workerid": "master", "testrunuid": uuid.uuid4().hex})
    name = f"tollway_test_{worker['testrunuid'][:8]}_{worker['workerid']}"
    yield create_migrated_database(test_infra.postgres_admin_url, name)
    asyncio.run(drop_database(test_infra.postgres_admin_url, name))


@pytest.fixture
async def database_url(migrated_database_url: str) -> str:
    """The worker's database, emptied before the test."""
    await truncate_all(migrated_database_url)
    return migrated_database_url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(database_url, pool_size=5, application_name="tests")
    yield engine
    await engine.dispose()


@pytest.fixture
def namespace() -> Namespace:
    """A subject/stream/durable prefix no other test uses."""
    return Namespace(f"t{uuid.uuid4().hex[:10]}")


@pytest.fixture
async def nc(test_infra: LocalInfra, namespace: Namespace) -> AsyncIterator[NatsClient]:
    """A NATS connection; the namespace's streams and buckets are deleted afterwards."""
    client = await connect_nats(test_infra.nats_url, "tests")
    yield client
    await delete_namespace_streams(client, namespace)
    await client.drain()


@pytest.fixture
async def redis_client(test_infra: LocalInfra) -> AsyncIterator[Redis]:
    client = Redis.from_url(test_infra.redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def redis_prefix(redis_client: Redis) -> AsyncIterator[str]:
    """A key prefix of this test; its keys are deleted afterwards."""
    prefix = f"t{uuid.uuid4().hex[:10]}"
    yield prefix
    keys = [key async for key in redis_client.scan_iter(match=f"{prefix}:*", count=1000)]
    if keys:
        await redis_client.delete(*keys)
