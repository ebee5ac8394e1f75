"""Reading the request monitor: rollups and latency histograms grouped by time, model or provider."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Table, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tollway.analytics.db.reports import conditions
from tollway.analytics.db.tables import latency_histogram, rollups
from tollway.analytics.domain.monitoring import Dimension, Distinct, MonitorGroup
from tollway.analytics.domain.queries import UsageFilters
from tollway.analytics.domain.rollups import COUNTER_FIELDS, NONE, Counters
from tollway.analytics.domain.tracking import TrackingCounts, counts_of

_SUMS = [func.coalesce(func.sum(rollups.c[name]), 0).cast(BigInteger).label(name) for name in COUNTER_FIELDS]
# Distinct counts sort every row of their group: each query asks only for those it shows.
_DISTINCT = {
    "users": func.count(rollups.c.user_id.distinct()).filter(rollups.c.user_id != NONE).label("users"),
    "api_keys": func.count(rollups.c.api_key_id.distinct()).filter(rollups.c.api_key_id != NONE).label("api_keys"),
    "models": func.count(rollups.c.model.distinct()).label("models"),
    "providers": func.count(rollups.c.provider.distinct()).filter(rollups.c.provider != NONE).label("providers"),
}
_SPANS = [func.min(rollups.c.hour).label("first_hour"), func.max(rollups.c.hour).label("last_hour")]


def _dimension(table: Table, dimension: Dimension) -> ColumnElement[Any]:
    if dimension == "day":
        return func.date_trunc("day", table.c.hour, "UTC").label("day")
    return table.c[dimension].label(dimension)


def _where(table: Table, filters: UsageFilters, search: str | None) -> list[ColumnElement[bool]]:
    found = conditions(table, "hour", filters, "model")
    if search:
        escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        found.append(table.c.model.ilike(f"%{escaped}%", escape="\\"))
    return found


def _key_part(value: str | datetime | None) -> str | datetime | None:
    return None if value == NONE else value


async def _nothing() -> Sequence[Any]:
    return []


class SqlAlchemyMonitorReader:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def _all(self, query: Any) -> Sequence[Any]:
        async with self._engine.connect() as conn:
            return (await conn.execute(query)).all()

    async def groups(
        self,
        filters: UsageFilters,
        dimensions: Sequence[Dimension] = (),
        *,
        search: str | None = None,
        latency: bool = True,
        distinct: Sequence[Distinct] = (),
    ) -> list[MonitorGroup]:
        """Summed rollups per combination of ``dimensions`` (one group for none), with latency buckets.

        Latency buckets are kept per hour, model and provider: filtered by user, key or fallback there are none
        (the percentiles are then ``None`` rather than another population's).
        """
        latency = latency and filters.user_id is None and filters.api_key_id is None and filters.is_fallback is None
        keys = [_dimension(rollups, d) for d in dimensions]
        counted = [_DISTINCT[name] for name in distinct]
        query = select(*keys, *_SUMS, *_SPANS, *counted).where(*_where(rollups, filters, search)).group_by(*keys)
        # Two connections: the rollup and histogram scans run side by side (one core each).
        histogram = self._all(self._histogram_query(filters, dimensions, search)) if latency else _nothing()
        rows, buckets = await asyncio.gather(self._all(query), histogram)
        histograms: dict[tuple[Any, ...], dict[int, int]] = {}
        for row in buckets:
            *key, bucket, count = row
            histograms.setdefault(tuple(key), {})[int(bucket)] = int(count)
        groups = []
        for row in rows:
            m = row._mapping
            key = tuple(m[d] for d in dimensions)
            groups.append(
                MonitorGroup(
                    key=tuple(_key_part(part) for part in key),
                    counters=Counters(**{name: int(m[name]) for name in COUNTER_FIELDS}),
                    latency=histograms.get(key, {}),
                    **{name: m[name] for name in distinct},
                    first_hour=m["first_hour"],
                    last_hour=m["last_hour"],
                )
            )
        return groups

    def _histogram_query(self, filters: UsageFilters, dimensions: Sequence[Dimension], search: str | None) -> Any:
        h = latency_histogram
        keys = [_dimension(h, d) for d in dimensions]
        return (
            select(*keys, h.c.bucket, func.sum(h.c["count"]).cast(BigInteger))
            .where(*_where(h, filters, search))
            .group_by(*keys, h.c.bucket)
        )

    async def tracking(self, filters: UsageFilters, by_day: bool) -> list[tuple[datetime | None, TrackingCounts]]:
        """Requests by attribution (key, user without key, neither), per UTC day when asked, oldest first."""
        r = rollups.c
        day = func.date_trunc("day", r.hour, "UTC").label("day")
        has_user, has_key = (r.user_id != NONE).label("has_user"), (r.api_key_id != NONE).label("has_key")
        keys: list[ColumnElement[Any]] = [has_user, has_key, *([day] if by_day else [])]
        sums = [func.sum(r.requests).cast(BigInteger), func.sum(r.anonymous).cast(BigInteger)]
        query = select(*keys, *sums).where(*conditions(rollups, "hour", filters, "model")).group_by(*keys)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        per_day: dict[datetime | None, TrackingCounts] = {}
        for row in rows:
            moment = row[2] if by_day else None
            counts = counts_of(int(row[-2]), int(row[-1]), bool(row[0]), bool(row[1]))
            per_day[moment] = per_day.get(moment, TrackingCounts()) + counts
        return sorted(per_day.items(), key=lambda item: item[0] or datetime.min.replace(tzinfo=UTC))
