"""Every service's migrations: upgrade, ``alembic check`` clean, downgrade to base, upgrade again."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import asyncpg
import pytest

from tollway.platform import migrations
from tollway.testing.infra import SERVICES, LocalInfra, database_url
from tollway.testing.postgres import drop_database, recreate_database


@pytest.fixture
def scratch_database(test_infra: LocalInfra) -> Iterator[str]:
    name = f"tollway_mig_{uuid.uuid4().hex[:8]}"
    asyncio.run(recreate_database(test_infra.postgres_admin_url, name))
    yield database_url(test_infra.postgres_admin_url, name)
    asyncio.run(drop_database(test_infra.postgres_admin_url, name))


async def _tables(url: str, schema: str) -> set[str]:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = $1", schema)
    await conn.close()
    return {row["tablename"] for row in rows}


@pytest.mark.parametrize("service", SERVICES)
def test_round_trip_and_check(service: str, scratch_database: str) -> None:
    migrations.upgrade(service, scratch_database)
    migrations.check(service, scratch_database)
    assert {"outbox", "inbox", "dead_letters", "alembic_version"} <= asyncio.run(_tables(scratch_database, service))

    migrations.downgrade(service, scratch_database)
    assert asyncio.run(_tables(scratch_database, service)) == {"alembic_version"}

    migrations.upgrade(service, scratch_database)
    migrations.check(service, scratch_database)


def test_each_service_touches_only_its_own_schema(scratch_database: str) -> None:
    migrations.upgrade("billing", scratch_database)
    assert asyncio.run(_tables(scratch_database, "analytics")) == set()
    assert asyncio.run(_tables(scratch_database, "public")) == set()
