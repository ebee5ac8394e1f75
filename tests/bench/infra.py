"""Housekeeping on the local Postgres and NATS: fresh bench databases and namespaces that leave no residue."""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit

import asyncpg

from tollway.testing.namespaces import purge_namespace


@dataclass(frozen=True)
class Infra:
    """Where Postgres, NATS and Redis listen (the same ``TOLLWAY_*`` variables ``make run`` reads)."""

    postgres: str
    nats: str
    redis: str

    @classmethod
    def from_env(cls) -> Infra:
        return cls(
            postgres=os.environ.get("TOLLWAY_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/tollway"),
            nats=os.environ.get("TOLLWAY_NATS_URL", "nats://127.0.0.1:4222"),
            redis=os.environ.get("TOLLWAY_REDIS_URL", "redis://127.0.0.1:6379/0"),
        )

    def database(self, name: str) -> str:
        """The SQLAlchemy URL of database ``name`` on the same server."""
        return urlsplit(self.postgres)._replace(path=f"/{name}").geturl()


def plain(url: str) -> str:
    """An asyncpg URL from a SQLAlchemy one."""
    return url.replace("+asyncpg", "")


async def reset_database(url: str) -> None:
    """Drop and recreate a bench database, so every run starts from the same empty state."""
    parts = urlsplit(plain(url))
    name = parts.path.lstrip("/")
    conn = await asyncpg.connect(parts._replace(path="/postgres").geturl())
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def purge(infra: Infra, namespace: str) -> None:
    """Delete the namespace's streams, KV buckets and Redis keys."""
    await purge_namespace(infra.nats, infra.redis, namespace)
