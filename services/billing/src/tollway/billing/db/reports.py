"""Read models over the ledger in SQL: the operator's transaction list, summaries, trial analytics, statements."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tollway.billing.db.rows import POSTING_COLUMNS, posting_of
from tollway.billing.db.tables import accounts, transactions
from tollway.billing.domain.ledger import Posting
from tollway.billing.domain.reports import (
    AdminTransactionQuery,
    DayTotal,
    LedgerSummary,
    SpendLine,
    TrialAnalytics,
    TrialState,
    TypeTotal,
)

t, a = transactions.c, accounts.c
SPEND_LINES = 100  # per breakdown: the top models and keys by spend

_TRIAL_ANALYTICS = text("""
WITH trials AS (
    SELECT account_id, amount_micros, created_at, expires_at FROM billing.transactions
    WHERE type = 'trial' AND created_at >= :since AND created_at < :until
), used AS (
    SELECT tr.account_id, -sum(u.amount_micros) AS micros, count(*) AS requests
    FROM trials tr JOIN billing.transactions u
        ON u.account_id = tr.account_id AND u.type = 'usage' AND u.created_at < tr.expires_at
    GROUP BY tr.account_id
), expired AS (
    SELECT e.account_id, -sum(e.amount_micros) AS micros
    FROM billing.transactions e JOIN trials tr ON tr.account_id = e.account_id
    WHERE e.type = 'expiry' GROUP BY e.account_id
), converted AS (
    SELECT DISTINCT tr.account_id FROM trials tr JOIN billing.transactions p
        ON p.account_id = tr.account_id AND p.type IN ('purchase', 'grant', 'coupon') AND p.created_at >= tr.created_at
)
SELECT count(*) AS total,
       count(*) FILTER (WHERE tr.expires_at > :now) AS active,
       count(*) FILTER (WHERE tr.expires_at <= :now) AS expired,
       count(c.account_id) AS converted,
       count(u.account_id) AS with_usage,
       coalesce(sum(tr.amount_micros), 0) AS granted,
       coalesce(sum(least(coalesce(u.micros, 0), tr.amount_micros)), 0) AS used,  -- LEAST skips NULLs
       coalesce(sum(e.micros), 0) AS expired_micros,
       coalesce(sum(u.requests), 0) AS requests
FROM trials tr
LEFT JOIN used u ON u.account_id = tr.account_id
LEFT JOIN expired e ON e.account_id = tr.account_id
LEFT JOIN converted c ON c.account_id = tr.account_id
""")
EPOCH = datetime.fromisoformat("1970-01-01T00:00:00+00:00")
FAR_FUTURE = datetime.fromisoformat("9999-01-01T00:00:00+00:00")


def _admin_filters(query: AdminTransactionQuery) -> list[ColumnElement[bool]]:
    filters: list[ColumnElement[bool]] = []
    if query.user_id is not None:
        filters.append(a.user_id == query.user_id)
    if query.type is not None:
        filters.append(t.type == query.type)
    if query.min_amount is not None:
        filters.append(t.amount_micros >= query.min_amount)
    if query.max_amount is not None:
        filters.append(t.amount_micros <= query.max_amount)
    if query.since is not None:
        filters.append(t.created_at >= query.since)
    if query.until is not None:
        filters.append(t.created_at < query.until)
    return filters


def _window(since: datetime | None, until: datetime | None) -> list[ColumnElement[bool]]:
    filters: list[ColumnElement[bool]] = []
    if since is not None:
        filters.append(t.created_at >= since)
    if until is not None:
        filters.append(t.created_at < until)
    return filters


class SqlAlchemyReports:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def admin_transactions(self, query: AdminTransactionQuery) -> list[Posting]:
        """Keyset pages over (sort key, id): each page is one index range, however deep the cursor."""
        key = t.amount_micros if query.sort == "amount" else t.created_at
        statement = select(*POSTING_COLUMNS).join(accounts).where(*_admin_filters(query))
        if query.after is not None:
            position = tuple_(key, t.id)
            bound = tuple_(query.after.value, query.after.id)
            statement = statement.where(position > bound if query.order == "asc" else position < bound)
        ordering = (key.asc(), t.id.asc()) if query.order == "asc" else (key.desc(), t.id.desc())
        statement = statement.order_by(*ordering).limit(query.limit + 1)
        async with self._engine.connect() as conn:
            return [posting_of(row) for row in await conn.execute(statement)]

    async def ledger_summary(
        self, user_id: str | None, since: datetime | None, until: datetime | None
    ) -> LedgerSummary | None:
        """``None`` when ``user_id`` names no account."""
        async with self._engine.connect() as conn:
            scope: list[ColumnElement[bool]] = []
            if user_id is not None:
                account_id = (await conn.execute(select(a.id).where(a.user_id == user_id))).scalar()
                if account_id is None:
                    return None
                scope.append(t.account_id == account_id)
            accounts_in_scope = select(func.count(), func.coalesce(func.sum(a.balance_micros), 0))
            if user_id is not None:
                accounts_in_scope = accounts_in_scope.where(a.user_id == user_id)
            count, balance = (await conn.execute(accounts_in_scope)).one()
            filters = [*scope, *_window(since, until)]
            by_type = await self._by_type(conn, filters)
            by_day = await self._by_day(conn, filters)
            extremes = select(
                func.coalesce(func.max(t.amount_micros).filter(t.amount_micros > 0), 0),
                func.coalesce(func.min(t.amount_micros).filter(t.amount_micros < 0), 0),
            ).where(*filters)
            largest_credit, largest_debit = (await conn.execute(extremes)).one()
        return LedgerSummary(
            user_id=user_id,
            accounts=count,
            balance_micros=int(balance),
            transactions=sum(v.count for v in by_type.values()),
            credits_micros=sum(d.credits_micros for d in by_day),
            debits_micros=sum(d.debits_micros for d in by_day),
            by_type=by_type,
            by_day=by_day,
            largest_credit_micros=int(largest_credit),
            largest_debit_micros=int(largest_debit),
        )

    async def _by_type(self, conn: AsyncConnection, filters: list[ColumnElement[bool]]) -> dict[str, TypeTotal]:
        statement = select(t.type, func.count(), func.sum(t.amount_micros)).where(*filters).group_by(t.type)
        rows = await conn.execute(statement)
        return {kind: TypeTotal(count=n, total_micros=int(total)) for kind, n, total in rows}

    async def _by_day(self, conn: AsyncConnection, filters: list[ColumnElement[bool]]) -> list[DayTotal]:
        day = func.date(func.timezone("UTC", t.created_at)).label("day")
        statement = (
            select(
                day,
                func.coalesce(func.sum(t.amount_micros).filter(t.amount_micros > 0), 0),
                func.coalesce(func.sum(t.amount_micros).filter(t.amount_micros < 0), 0),
                func.count(),
            )
            .where(*filters)
            .group_by(day)
            .order_by(day)
        )
        rows = await conn.execute(statement)
        return [DayTotal(date=d, credits_micros=int(c), debits_micros=int(b), count=n) for d, c, b, n in rows]

    async def spend(self, account_id: str, since: datetime) -> dict[str, list[SpendLine]]:
        """The account's usage since ``since`` by UTC day, by model and by API key (top ones by spend)."""
        groups: dict[str, Any] = {
            "day": func.to_char(func.timezone("UTC", t.created_at), "YYYY-MM-DD"),
            "model": func.coalesce(t.metadata["model"].astext, ""),
            "key": func.coalesce(t.metadata["api_key_id"].astext, ""),
        }
        lines: dict[str, list[SpendLine]] = {}
        async with self._engine.connect() as conn:
            for name, expression in groups.items():
                group = expression.label("k")
                spend = (-func.sum(t.amount_micros)).label("spend")
                statement = (
                    select(group, spend, func.count())
                    .where(t.account_id == account_id, t.type == "usage", t.created_at >= since)
                    .group_by(group)
                    .order_by(group if name == "day" else spend.desc())
                    .limit(SPEND_LINES if name != "day" else None)
                )
                rows = await conn.execute(statement)
                lines[name] = [SpendLine(key=k, spend_micros=int(s), requests=n) for k, s, n in rows]
        return lines

    async def trial_state(self, account_id: str, now: datetime) -> TrialState:
        statement = select(t.type, t.amount_micros, t.expires_at).where(
            t.account_id == account_id, t.type.in_(("trial", "expiry"))
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(statement)).all()
        trial = next((row for row in rows if row.type == "trial"), None)
        if trial is None:
            return TrialState(state="none")
        expired = -sum(row.amount_micros for row in rows if row.type == "expiry")
        active = trial.expires_at is not None and trial.expires_at > now
        return TrialState(
            state="active" if active else "expired",
            granted_micros=trial.amount_micros,
            expires_at=trial.expires_at,
            expired_micros=expired,
        )

    async def trial_analytics(self, now: datetime, since: datetime | None, until: datetime | None) -> TrialAnalytics:
        params = {"now": now, "since": since or EPOCH, "until": until or FAR_FUTURE}
        async with self._engine.connect() as conn:
            row = (await conn.execute(_TRIAL_ANALYTICS, params)).one()
        return TrialAnalytics(
            total=row.total,
            active=row.active,
            expired=row.expired,
            converted=row.converted,
            with_usage=row.with_usage,
            granted_micros=int(row.granted),
            used_micros=int(row.used),
            expired_micros=int(row.expired_micros),
            requests=int(row.requests),
        )

    async def month_of(self, account_id: str, start: datetime, end: datetime) -> tuple[int, list[Posting]]:
        """The balance before ``start`` (after the last earlier transaction) and the transactions in [start, end)."""
        before = (
            select(t.balance_after_micros)
            .where(t.account_id == account_id, t.created_at < start)
            .order_by(t.seq.desc())
            .limit(1)
        )
        month = (
            select(*POSTING_COLUMNS)
            .join(accounts)
            .where(t.account_id == account_id, t.created_at >= start, t.created_at < end)
            .order_by(t.seq)
        )
        async with self._engine.connect() as conn:
            await conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
            opening = (await conn.execute(before)).scalar()
            postings = [posting_of(row) for row in await conn.execute(month)]
        return int(opening or 0), postings
