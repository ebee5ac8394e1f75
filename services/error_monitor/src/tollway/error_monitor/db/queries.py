"""Reading errors, patterns and incidents, and resolving incidents (schema ``error_monitor`` only)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, Table, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tollway.error_monitor.db.repositories import incident_of, resolve
from tollway.error_monitor.db.tables import errors, incidents, messaging, patterns
from tollway.error_monitor.domain.incidents import Incident, LogLine
from tollway.error_monitor.domain.views import ErrorFilters, ErrorView, IncidentFilters, PatternSummary, PatternView
from tollway.platform.messaging import add_to_outbox

BEFORE_INCIDENT = timedelta(minutes=5)  # logs captured from this long before an incident started
_E = errors.c
_ERROR_COLUMNS = [
    _E.id,
    _E.occurred_at,
    _E.service,
    _E.kind,
    _E.severity.label("level"),
    _E.message,
    _E.category,
    _E.impact.label("severity"),
    _E.fixable,
    _E.pattern_id,
    _E.provider,
    _E.request_id,
]
_PATTERN_COLUMNS = [column.label("severity") if column.name == "impact" else column for column in patterns.c]


def _like(search: str) -> str:
    return "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _error_conditions(table: Table, filters: ErrorFilters) -> list[ColumnElement[bool]]:
    c = table.c
    wanted = {"impact": filters.severity, "fixable": filters.fixable, "service": filters.service}
    wanted |= {"category": filters.category}
    found = [c[name] == value for name, value in wanted.items() if value is not None]
    if filters.pattern_id is not None and "pattern_id" in c:
        found.append(c.pattern_id == filters.pattern_id)
    if filters.since is not None:
        found.append((c.occurred_at if "occurred_at" in c else c.last_seen) >= filters.since)
    return found


class SqlAlchemyMonitorStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def _all(self, query: Any) -> list[Any]:
        async with self._engine.connect() as conn:
            return list((await conn.execute(query)).all())

    async def errors(self, filters: ErrorFilters, before_id: int | None, limit: int) -> list[ErrorView]:
        query = select(*_ERROR_COLUMNS).where(*_error_conditions(errors, filters))
        if before_id is not None:
            query = query.where(_E.id < before_id)
        rows = await self._all(query.order_by(_E.id.desc()).limit(limit))
        return [msgspec.convert(row, ErrorView, from_attributes=True) for row in rows]

    async def patterns(self, filters: ErrorFilters, limit: int) -> list[PatternView]:
        query = select(*_PATTERN_COLUMNS).where(*_error_conditions(patterns, filters))
        rows = await self._all(query.order_by(patterns.c["count"].desc(), patterns.c.id).limit(limit))
        return [msgspec.convert(row, PatternView, from_attributes=True) for row in rows]

    async def pattern(self, pattern_id: str) -> PatternView | None:
        rows = await self._all(select(*_PATTERN_COLUMNS).where(patterns.c.id == pattern_id))
        return msgspec.convert(rows[0], PatternView, from_attributes=True) if rows else None

    async def pattern_summary(self) -> PatternSummary:
        p = patterns.c
        totals = select(
            func.count(),
            func.count().filter(p.impact == "critical"),
            func.count().filter(p.impact == "high"),
            func.count().filter(p.fixable),
        )
        per_category = select(p.category, func.sum(p["count"])).group_by(p.category)
        async with self._engine.connect() as conn:
            total, critical, high, fixable = (await conn.execute(totals)).one()
            categories = {name: int(n) for name, n in (await conn.execute(per_category)).all()}
        return PatternSummary(
            total_patterns=total,
            critical_patterns=critical,
            high_patterns=high,
            fixable_patterns=fixable,
            errors_by_category=dict(sorted(categories.items(), key=lambda item: -item[1])),
        )

    async def incidents(self, filters: IncidentFilters, limit: int) -> list[Incident]:
        c = incidents.c
        wanted = {"status": filters.status, "severity": filters.severity, "kind": filters.kind}
        wanted |= {"provider": filters.provider}
        query = select(incidents).where(*(c[name] == value for name, value in wanted.items() if value is not None))
        rows = await self._all(query.order_by(c.started_at.desc(), c.id).limit(limit))
        return [incident_of(row) for row in rows]

    async def incident_counts(self) -> dict[str, int]:
        rows = await self._all(select(incidents.c.status, func.count()).group_by(incidents.c.status))
        return {status: int(count) for status, count in rows}

    async def incidents_since(self, since: datetime) -> list[Incident]:
        rows = await self._all(select(incidents).where(incidents.c.started_at >= since))
        return [incident_of(row) for row in rows]

    async def incident(self, incident_id: str) -> Incident | None:
        rows = await self._all(select(incidents).where(incidents.c.id == incident_id))
        return incident_of(rows[0]) if rows else None

    async def logs(self, incident: Incident, filters: ErrorFilters, search: str | None, limit: int) -> list[LogLine]:
        related = _E.provider == incident.provider if incident.provider else _E.pattern_id == incident.pattern_id
        query = select(
            _E.occurred_at.label("timestamp"),
            _E.severity.label("level"),
            _E.service,
            _E.kind,
            _E.category,
            _E.message,
            _E.request_id,
        ).where(related, _E.occurred_at >= incident.started_at - BEFORE_INCIDENT)
        if incident.ended_at is not None:
            query = query.where(_E.occurred_at <= incident.ended_at)
        if filters.severity is not None:  # here: the reporter's level
            query = query.where(_E.severity == filters.severity)
        if filters.service is not None:
            query = query.where(_E.service == filters.service)
        if search:
            query = query.where(_E.message.ilike(_like(search), escape="\\"))
        rows = await self._all(query.order_by(_E.occurred_at, _E.id).limit(limit))
        return [msgspec.convert(row, LogLine, from_attributes=True) for row in rows]

    async def resolve(self, incident_id: str, resolved_by: str, notes: str | None, at: datetime) -> Incident | None:
        async with self._engine.begin() as conn:
            event = await resolve(conn, incident_id, resolved_by, notes, at)
            if event is None:
                return None
            await add_to_outbox(conn, messaging.outbox, [event])
            row = (await conn.execute(select(incidents).where(incidents.c.id == incident_id))).one()
        return incident_of(row)
