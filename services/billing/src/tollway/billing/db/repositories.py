"""The SQL ledger of billing (schema ``billing`` only): units of work, reads, and the full-ledger audit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine

from tollway.billing.db.audit import run_audit
from tollway.billing.db.rows import ACCOUNT_COLUMNS, POSTING_COLUMNS, account_of, posting_of
from tollway.billing.db.tables import accounts, transactions
from tollway.billing.db.uow import SqlAlchemyLedgerSession
from tollway.billing.domain.audit import AuditReport
from tollway.billing.domain.ledger import AccountState, BalanceSnapshot, Posting
from tollway.billing.domain.pages import TransactionQuery


class SqlAlchemyLedger:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @asynccontextmanager
    async def session(self) -> AsyncIterator[SqlAlchemyLedgerSession]:
        # Leaving the block without ``commit`` closes the connection, which rolls the transaction back.
        async with self._engine.connect() as conn:
            yield SqlAlchemyLedgerSession(conn)

    async def account(self, user_id: str) -> AccountState | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(*ACCOUNT_COLUMNS).where(accounts.c.user_id == user_id))).first()
        return None if row is None else account_of(row)

    async def transactions(self, account_id: str, query: TransactionQuery) -> list[Posting]:
        c = transactions.c
        statement = select(*POSTING_COLUMNS).join(accounts).where(c.account_id == account_id)
        if query.type is not None:
            statement = statement.where(c.type == query.type)
        if query.since is not None:
            statement = statement.where(c.created_at >= query.since)
        if query.until is not None:
            statement = statement.where(c.created_at < query.until)
        if query.after is not None:
            statement = statement.where(tuple_(c.created_at, c.id) < tuple_(query.after.created_at, query.after.id))
        statement = statement.order_by(c.created_at.desc(), c.id.desc()).limit(query.limit + 1)
        async with self._engine.connect() as conn:
            return [posting_of(row) for row in await conn.execute(statement)]

    async def due_trials(self, now: datetime, limit: int) -> list[str]:
        c = accounts.c
        statement = select(c.user_id).where(c.trial_expires_at <= now).order_by(c.trial_expires_at).limit(limit)
        async with self._engine.connect() as conn:
            return list((await conn.execute(statement)).scalars())

    async def snapshots(self, after_user_id: str, limit: int) -> list[BalanceSnapshot]:
        c = accounts.c
        statement = (
            select(c.user_id, c.balance_micros, c.version)
            .where(c.user_id > after_user_id)
            .order_by(c.user_id)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            return [BalanceSnapshot(*row) for row in await conn.execute(statement)]

    async def audit(self, overspend_bound_micros: int) -> AuditReport:
        async with self._engine.connect() as conn:
            return await run_audit(conn, overspend_bound_micros)
