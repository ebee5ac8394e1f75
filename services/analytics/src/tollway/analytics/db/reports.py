"""Reading usage: summed hourly rollups for reports, request rows for listings (schema ``analytics`` only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import BigInteger, ColumnElement, Row, Select, Table, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine

from tollway.analytics.db.tables import requests, rollups
from tollway.analytics.domain.queries import Cursor, GroupBy, UsageFilters
from tollway.analytics.domain.records import RequestRecord
from tollway.analytics.domain.reports import UsageGroup
from tollway.analytics.domain.rollups import COUNTER_FIELDS, NONE, Counters

_SUMS = [func.coalesce(func.sum(rollups.c[name]), 0).cast(BigInteger).label(name) for name in COUNTER_FIELDS]
_GROUP_KEYS: dict[GroupBy, ColumnElement[Any]] = {
    "hour": rollups.c.hour,
    "day": func.date_trunc("day", rollups.c.hour, "UTC"),
    "model": rollups.c.model,
    "provider": rollups.c.provider,
}
_RECORD_COLUMNS = [column for column in requests.c if column.name != "received_at"]


def conditions(table: Table, time_column: str, filters: UsageFilters, model_column: str) -> list[ColumnElement[bool]]:
    """The WHERE clauses of ``filters`` on a rollup table (time column ``hour``) or the request rows."""
    c = table.c
    found = [c[time_column] >= filters.start, c[time_column] < filters.end]
    wanted = {
        "user_id": filters.user_id,
        "api_key_id": filters.api_key_id,
        model_column: filters.model,
        "provider": filters.provider,
        "is_fallback": filters.is_fallback,
    }
    if "status" in c:
        wanted["status"] = filters.status
    found += [c[name] == value for name, value in wanted.items() if value is not None]
    return found


def _rollup_query(filters: UsageFilters, *columns: ColumnElement[Any]) -> Select[Any]:
    return select(*columns, *_SUMS).where(*conditions(rollups, "hour", filters, "model"))


def _counters(row: Row[Any]) -> Counters:
    return Counters(**{name: int(row._mapping[name]) for name in COUNTER_FIELDS})


def _group_key(group_by: GroupBy, value: str | datetime) -> str | None:
    if isinstance(value, datetime):
        return value.date().isoformat() if group_by == "day" else value.strftime("%Y-%m-%dT%H:00:00Z")
    return None if value == NONE else value


class SqlAlchemyUsageReader:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def totals(self, filters: UsageFilters) -> Counters:
        async with self._engine.connect() as conn:
            row = (await conn.execute(_rollup_query(filters))).one()
        return _counters(row)

    async def groups(self, filters: UsageFilters, group_by: GroupBy) -> list[UsageGroup]:
        key = _GROUP_KEYS[group_by].label("key")
        query = _rollup_query(filters, key).group_by(key)
        if group_by in ("hour", "day"):
            query = query.order_by(key)
        else:
            query = query.order_by(func.sum(rollups.c.cost_micros).desc(), func.sum(rollups.c.requests).desc(), key)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [UsageGroup(_group_key(group_by, row.key), _counters(row)) for row in rows]

    async def requests(self, filters: UsageFilters, after: Cursor | None, limit: int) -> list[RequestRecord]:
        c = requests.c
        query = select(*_RECORD_COLUMNS).where(*conditions(requests, "occurred_at", filters, "requested_model"))
        if after is not None:
            query = query.where(tuple_(c.occurred_at, c.request_id) < tuple_(after.occurred_at, after.request_id))
        query = query.order_by(c.occurred_at.desc(), c.request_id.desc()).limit(limit)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [msgspec.convert(row, RequestRecord, from_attributes=True) for row in rows]
