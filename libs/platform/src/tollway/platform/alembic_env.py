"""The shared body of every service's Alembic ``env.py``: own schema, own version table, only own objects."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from alembic import context
from sqlalchemy import MetaData, pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from tollway.platform.db import async_url


def run_migrations(metadata: MetaData, *, schema: str, url_env: str) -> None:
    """Run the current Alembic command for one service's schema (online, asyncpg)."""
    url = context.config.get_main_option("sqlalchemy.url") or os.environ.get(url_env)
    if not url:
        raise RuntimeError(f"set {url_env} (or sqlalchemy.url) to migrate schema {schema!r}")
    asyncio.run(_run_online(async_url(url), metadata, schema))


async def _run_online(url: str, metadata: MetaData, schema: str) -> None:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(_configure_and_run, metadata, schema)
        await connection.commit()
    await engine.dispose()


def _configure_and_run(connection: Connection, metadata: MetaData, schema: str) -> None:
    connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))

    def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
        if type_ == "schema":
            return name == schema
        return True

    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table_schema=schema,
        include_schemas=True,
        include_name=include_name,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
