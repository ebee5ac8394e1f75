"""A migrated database per xdist worker, and cheap per-test cleanup by truncation."""

from __future__ import annotations

import asyncio

import asyncpg

from tollway.platform import migrations
from tollway.testing.infra import SERVICES, database_url


async def recreate_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def drop_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def create_migrated_database(admin_url: str, name: str) -> str:
    """Create ``name`` afresh and apply every service's migrations; returns its asyncpg URL."""
    asyncio.run(recreate_database(admin_url, name))
    url = database_url(admin_url, name)
    for service in SERVICES:
        migrations.upgrade(service, url)
    return url


async def truncate_all(url: str) -> None:
    """Empty every service table (not the Alembic version tables) so each test starts clean."""
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        rows = await conn.fetch(
            "SELECT format('%I.%I', schemaname, tablename) AS name FROM pg_tables "
            "WHERE schemaname = ANY($1::text[]) AND tablename <> 'alembic_version'",
            list(SERVICES),
        )
        if rows:
            await conn.execute(f"TRUNCATE {', '.join(r['name'] for r in rows)} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()
