"""Writing error_monitor's state (schema ``error_monitor`` only): errors, patterns, provider health, incidents.

One transaction per consumed batch: inbox claim, the batch's errors and pattern counts, provider windows and
consecutive outcomes, then the incidents they open or close with their events in the outbox.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tollway.contracts import Event
from tollway.error_monitor.db.tables import errors, incidents, messaging, patterns, provider_health, provider_minutes
from tollway.error_monitor.domain.classification import classify
from tollway.error_monitor.domain.fingerprints import normalised
from tollway.error_monitor.domain.incidents import (
    AUTO,
    Attempt,
    Incident,
    IncidentRules,
    ProviderHealth,
    has_recovered,
    opened_event,
    provider_incident,
    resolved_event,
    spike_incident,
    unhealthy_reason,
)
from tollway.error_monitor.domain.records import ErrorRecord
from tollway.platform.messaging import add_to_outbox, claim_events

_ERROR_FIELDS = ErrorRecord.__struct_fields__
# The partial unique index's predicate as a literal: bound as a parameter, it stops matching the index once
# Postgres plans the prepared statement generically (after five executions), and every insert then fails.
_ONGOING = text("status = 'ongoing'")


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def incident_row(incident: Incident) -> dict[str, Any]:
    return msgspec.structs.asdict(incident)


def incident_of(row: Any) -> Incident:
    # Column names are SQLAlchemy's quoted_name, a str subclass msgspec does not take as a mapping key.
    return msgspec.convert({str(k): v for k, v in row._mapping.items()}, Incident, strict=False)


class SqlAlchemyErrorLog:
    def __init__(self, engine: AsyncEngine, rules: IncidentRules | None = None) -> None:
        self._engine = engine
        self._rules = rules or IncidentRules()

    async def add_once(
        self, consumer: str, records: Sequence[ErrorRecord], attempts: Sequence[tuple[str, Attempt]] = ()
    ) -> int:
        """Store the records and attempts of events not claimed before by ``consumer``; returns new records."""
        ids = {r.event_id for r in records} | {event_id for event_id, _ in attempts}
        async with self._engine.begin() as conn:
            new = await claim_events(conn, messaging.inbox, consumer, ids)
            fresh = [r for r in records if r.event_id in new]
            tried = sorted(a for event_id, a in attempts if event_id in new)
            events: list[Event] = []
            if fresh:
                await conn.execute(errors.insert(), [{n: getattr(r, n) for n in _ERROR_FIELDS} for r in fresh])
                await self._count_patterns(conn, fresh)
                events += await self._spikes(conn, fresh)
            if tried:
                events += await self._provider_health(conn, tried)
            await add_to_outbox(conn, messaging.outbox, events)
        return len(fresh)

    async def _count_patterns(self, conn: AsyncConnection, fresh: Sequence[ErrorRecord]) -> None:
        rows: dict[str, dict[str, Any]] = {}
        for r in sorted(fresh, key=lambda r: (r.pattern_id, r.occurred_at)):
            found = classify(r.message, r.kind, r.provider)
            row = rows.setdefault(
                r.pattern_id,
                {
                    "id": r.pattern_id,
                    "service": r.service,
                    "kind": r.kind,
                    "location": r.location,
                    "message": normalised(r.message),
                    "category": found.category,
                    "impact": found.impact,
                    "fixable": found.fixable,
                    "suggested_fix": found.suggested_fix,
                    "count": 0,
                    "first_seen": r.occurred_at,
                },
            )
            row |= {"count": row["count"] + 1, "last_seen": r.occurred_at, "example": r.message}
        stmt = insert(patterns)
        upsert = stmt.on_conflict_do_update(
            index_elements=[patterns.c.id],
            set_={
                "count": patterns.c["count"] + stmt.excluded["count"],
                "first_seen": func.least(patterns.c.first_seen, stmt.excluded.first_seen),
                "last_seen": func.greatest(patterns.c.last_seen, stmt.excluded.last_seen),
                "example": stmt.excluded.example,
            },
        )
        await conn.execute(upsert, list(rows.values()))  # sorted by id: concurrent batches lock alike

    async def _spikes(self, conn: AsyncConnection, fresh: Sequence[ErrorRecord]) -> list[Event]:
        latest = max(r.occurred_at for r in fresh)
        since = latest - timedelta(seconds=self._rules.window_s)
        touched = sorted({r.pattern_id for r in fresh})
        counted = select(errors.c.pattern_id, func.count()).where(
            errors.c.pattern_id.in_(touched), errors.c.occurred_at >= since
        )
        counts: dict[str, int] = dict((await conn.execute(counted.group_by(errors.c.pattern_id))).all())
        spiking = [p for p in touched if counts.get(p, 0) >= self._rules.spike_errors]
        if not spiking:
            return []
        described = select(patterns.c.id, patterns.c.message, patterns.c.impact).where(patterns.c.id.in_(spiking))
        opened: list[Event] = []
        for pattern_id, message, impact in (await conn.execute(described)).all():
            incident = spike_incident(pattern_id, message, impact, counts[pattern_id], latest)
            if await self._open(conn, incident):
                opened.append(opened_event(incident))
        return opened

    async def _provider_health(self, conn: AsyncConnection, tried: Sequence[Attempt]) -> list[Event]:
        names = sorted({a.provider for a in tried})
        await self._add_minutes(conn, tried)
        health = await self._locked_health(conn, names)
        for attempt in tried:  # in time order
            health[attempt.provider].record(attempt)
        for name in names:
            h = health[name]
            await conn.execute(
                update(provider_health)
                .where(provider_health.c.provider == name)
                .values(
                    consecutive_failures=h.consecutive_failures,
                    consecutive_successes=h.consecutive_successes,
                    updated_at=func.now(),
                )
            )
        latest = tried[-1].occurred_at
        await self._read_windows(conn, health, latest - timedelta(seconds=self._rules.window_s))
        return await self._judge(conn, health, latest)

    async def _add_minutes(self, conn: AsyncConnection, tried: Sequence[Attempt]) -> None:
        per_minute: dict[tuple[str, datetime], list[int]] = {}
        for a in tried:
            counts = per_minute.setdefault((a.provider, _minute(a.occurred_at)), [0, 0, 0])
            counts[0] += 1
            counts[1] += not a.ok
            counts[2] += a.latency_ms
        rows = [
            {"provider": p, "minute": m, "attempts": c[0], "failures": c[1], "latency_ms_sum": c[2]}
            for (p, m), c in sorted(per_minute.items())
        ]
        stmt = insert(provider_minutes)
        await conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[provider_minutes.c.provider, provider_minutes.c.minute],
                set_={
                    name: provider_minutes.c[name] + stmt.excluded[name]
                    for name in ("attempts", "failures", "latency_ms_sum")
                },
            ),
            rows,
        )

    async def _locked_health(self, conn: AsyncConnection, names: list[str]) -> dict[str, ProviderHealth]:
        await conn.execute(insert(provider_health).on_conflict_do_nothing(), [{"provider": n} for n in names])
        query = (
            select(
                provider_health.c.provider,
                provider_health.c.consecutive_failures,
                provider_health.c.consecutive_successes,
            )
            .where(provider_health.c.provider.in_(names))
            .order_by(provider_health.c.provider)
            .with_for_update()
        )
        rows = (await conn.execute(query)).all()
        return {p: ProviderHealth(provider=p, consecutive_failures=f, consecutive_successes=s) for p, f, s in rows}

    async def _read_windows(self, conn: AsyncConnection, health: dict[str, ProviderHealth], since: datetime) -> None:
        m = provider_minutes.c
        query = (
            select(m.provider, func.sum(m.attempts), func.sum(m.failures), func.sum(m.latency_ms_sum))
            .where(m.provider.in_(sorted(health)), m.minute >= _minute(since))
            .group_by(m.provider)
        )
        for provider, attempts, failures, latency in (await conn.execute(query)).all():
            h = health[provider]
            h.window_attempts, h.window_failures, h.window_latency_ms_sum = int(attempts), int(failures), int(latency)

    async def _judge(self, conn: AsyncConnection, health: dict[str, ProviderHealth], at: datetime) -> list[Event]:
        c = incidents.c
        ongoing_query = select(incidents).where(
            c.kind == "provider_health", c.status == "ongoing", c.subject.in_(sorted(health))
        )
        ongoing = {row.subject: incident_of(row) for row in (await conn.execute(ongoing_query)).all()}
        events: list[Event] = []
        for name in sorted(health):
            h, current = health[name], ongoing.get(name)
            if current is None:
                reason = unhealthy_reason(h, self._rules)
                incident = provider_incident(h, reason, at) if reason else None
                if incident is not None and await self._open(conn, incident):
                    events.append(opened_event(incident))
            elif has_recovered(h, self._rules):
                resolved = await resolve(conn, current.id, AUTO, None, at)
                if resolved is not None:
                    events.append(resolved)
        return events

    async def _open(self, conn: AsyncConnection, incident: Incident) -> bool:
        """Insert an ongoing incident unless one is already ongoing for its subject (another worker's)."""
        stmt = insert(incidents).values(incident_row(incident))
        done = await conn.execute(
            stmt.on_conflict_do_nothing(
                index_elements=[incidents.c.kind, incidents.c.subject], index_where=_ONGOING
            ).returning(incidents.c.id)
        )
        return done.scalar_one_or_none() is not None


async def resolve(
    conn: AsyncConnection, incident_id: str, resolved_by: str, notes: str | None, at: datetime
) -> Event | None:
    """Close an ongoing incident (a conditional update: two resolvers cannot both win).

    Returns the event to stage in the same transaction's outbox, or ``None`` when it was not ongoing.
    """
    c = incidents.c
    row = (
        await conn.execute(
            update(incidents)
            .where(c.id == incident_id, c.status == "ongoing")
            .values(
                status="resolved",
                ended_at=func.greatest(at, c.started_at),
                # floor, as the event does: a cast would round 1.6 s up to 2 and the row and the event disagree
                duration_seconds=func.greatest(func.floor(func.extract("epoch", at - c.started_at)), 0).cast(
                    incidents.c.duration_seconds.type
                ),
                resolved_by=resolved_by,
                notes=notes,
            )
            .returning(*incidents.c)
        )
    ).one_or_none()
    if row is None:
        return None
    incident = incident_of(row)
    return resolved_event(incident, resolved_by, incident.ended_at or at)
