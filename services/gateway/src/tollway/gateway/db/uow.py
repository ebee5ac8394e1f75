"""The gateway's unit of work: one Postgres transaction exposing every repository (and the outbox)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tollway.gateway.db.account_repositories import (
    SqlAlchemyAccountKeys,
    SqlAlchemyAccountUsers,
    SqlAlchemyAuditLog,
    SqlAlchemyMailOutbox,
    SqlAlchemyPasswordResets,
    SqlAlchemySessions,
)
from tollway.gateway.db.repositories import (
    SqlAlchemyApiKeys,
    SqlAlchemyAuthAudit,
    SqlAlchemyOutbox,
    SqlAlchemyRateLimits,
    SqlAlchemyUsers,
)


class SqlAlchemyUnitOfWork:
    def __init__(self, conn: AsyncConnection) -> None:
        self.users = SqlAlchemyUsers(conn)
        self.api_keys = SqlAlchemyApiKeys(conn)
        self.audit = SqlAlchemyAuthAudit(conn)
        self.outbox = SqlAlchemyOutbox(conn)
        self.rate_limits = SqlAlchemyRateLimits(conn)
        # Accounts (ADR 009)
        self.accounts = SqlAlchemyAccountUsers(conn)
        self.account_keys = SqlAlchemyAccountKeys(conn)
        self.sessions = SqlAlchemySessions(conn)
        self.password_resets = SqlAlchemyPasswordResets(conn)
        self.mail = SqlAlchemyMailOutbox(conn)
        self.audit_log = SqlAlchemyAuditLog(conn)


class SqlAlchemyAccountStore:
    """``transaction()`` commits when the block exits normally and rolls back when it raises."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqlAlchemyUnitOfWork]:
        async with self._engine.begin() as conn:
            yield SqlAlchemyUnitOfWork(conn)

    async def touch_keys(self, api_key_ids: Iterable[str], at: datetime) -> None:
        async with self.transaction() as uow:
            await uow.api_keys.touch(api_key_ids, at)
