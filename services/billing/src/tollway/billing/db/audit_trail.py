"""The audit trail in SQL: operators' postings (their ``metadata.admin``) and the coupons they made, newest first."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tollway.billing.db.tables import accounts, coupons, transactions
from tollway.billing.domain.audit_trail import AuditEntry, AuditQuery, ledger_action, ledger_detail

t, a, c = transactions.c, accounts.c, coupons.c
# Only these types are ever posted by an operator; naming them keeps the scan on the type index, off the debits.
OPERATOR_TYPES = ("grant", "adjustment", "refund")


def _ledger_filters(query: AuditQuery) -> list[ColumnElement[bool]]:
    types = {"grant": ("grant",), "bulk_grant": ("grant",), "adjustment": ("adjustment",), "refund": ("refund",)}
    filters = [t.type.in_(types.get(query.action or "", OPERATOR_TYPES)), t.metadata.has_key("admin")]
    if query.action == "bulk_grant":
        filters.append(t.metadata["bulk"].astext == "true")
    elif query.action == "grant":
        filters.append(~t.metadata.has_key("bulk"))
    if query.actor is not None:
        filters.append(t.metadata["admin"].astext == query.actor)
    if query.user_id is not None:
        filters.append(a.user_id == query.user_id)
    return filters


def _coupon_filters(query: AuditQuery) -> list[ColumnElement[bool]]:
    filters = [c.created_by != ""]  # coupons made by the API always name their operator
    if query.actor is not None:
        filters.append(c.created_by == query.actor)
    if query.user_id is not None:
        filters.append(c.assigned_user_id == query.user_id)
    return filters


def _window(query: AuditQuery, at: ColumnElement[object], id_: ColumnElement[str]) -> list[ColumnElement[bool]]:
    filters: list[ColumnElement[bool]] = []
    if query.since is not None:
        filters.append(at >= query.since)
    if query.until is not None:
        filters.append(at < query.until)
    if query.after is not None:
        filters.append(tuple_(at, id_) < tuple_(query.after.created_at, query.after.id))
    return filters


def _ledger(query: AuditQuery) -> Select[tuple[object, ...]]:
    columns = (t.id, t.created_at, t.type, t.metadata, a.user_id, t.amount_micros, t.description)
    return (
        select(*columns)
        .join(accounts)
        .where(*_ledger_filters(query), *_window(query, t.created_at, t.id))
        .order_by(t.created_at.desc(), t.id.desc())
        .limit(query.limit + 1)
    )


def _coupons(query: AuditQuery) -> Select[tuple[object, ...]]:
    columns = (c.id, c.created_at, c.created_by, c.assigned_user_id, c.value_micros, c.description, c.code, c.scope)
    return (
        select(*columns, c.max_uses)
        .where(*_coupon_filters(query), *_window(query, c.created_at, c.id))
        .order_by(c.created_at.desc(), c.id.desc())
        .limit(query.limit + 1)
    )


class SqlAlchemyAuditTrail:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def entries(self, query: AuditQuery) -> list[AuditEntry]:
        """Up to ``limit + 1`` entries after the cursor: each source's own first ones, merged by time."""
        async with self._engine.connect() as conn:
            found = await self._ledger_entries(conn, query) if query.wants_ledger else []
            if query.wants_coupons:
                found += await self._coupon_entries(conn, query)
        return sorted(found, key=lambda e: (e.at, e.id), reverse=True)[: query.limit + 1]

    async def _ledger_entries(self, conn: AsyncConnection, query: AuditQuery) -> list[AuditEntry]:
        return [
            AuditEntry(
                id=row.id,
                at=row.created_at,
                action=ledger_action(row.type, row.metadata),
                actor=row.metadata["admin"],
                user_id=row.user_id,
                amount_micros=row.amount_micros,
                description=row.description,
                detail=ledger_detail(row.metadata),
            )
            for row in await conn.execute(_ledger(query))
        ]

    async def _coupon_entries(self, conn: AsyncConnection, query: AuditQuery) -> list[AuditEntry]:
        return [
            AuditEntry(
                id=row.id,
                at=row.created_at,
                action="coupon_created",
                actor=row.created_by,
                user_id=row.assigned_user_id,
                amount_micros=row.value_micros,
                description=row.description,
                detail={"code": row.code, "scope": row.scope, "max_uses": row.max_uses},
            )
            for row in await conn.execute(_coupons(query))
        ]
