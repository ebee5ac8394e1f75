"""Provider usage in the ``analytics`` schema: idempotent upserts, import cursors, recorded costs, drift events."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

import msgspec
from sqlalchemy import Date, and_, cast, func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from tollway.analytics.db.tables import import_cursors, messaging, provider_usage, requests
from tollway.analytics.domain.provider_usage import ProviderUsage, UsageKey
from tollway.contracts import ReconciliationDriftedV1
from tollway.platform.messaging.outbox import outbox_row

_u = provider_usage.c
_r = requests.c
_FIGURES = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "cost_micros")


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


class SqlAlchemyProviderUsage:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def cursor(self, provider: str) -> date | None:
        query = select(import_cursors.c.last_day).where(import_cursors.c.provider == provider)
        async with self._engine.connect() as conn:
            found: date | None = (await conn.execute(query)).scalar_one_or_none()
            return found

    async def save(self, provider: str, rows: Sequence[ProviderUsage], through: date) -> int:
        changed = 0
        async with self._engine.begin() as conn:
            if rows:
                stmt = insert(provider_usage).values([msgspec.to_builtins(row, builtin_types=(date,)) for row in rows])
                # Only rows whose figures differ are rewritten: a re-import of the same window changes nothing.
                differs = or_(*[provider_usage.c[name].is_distinct_from(stmt.excluded[name]) for name in _FIGURES])
                upsert = stmt.on_conflict_do_update(
                    index_elements=[_u.provider, _u.model, _u.day],
                    set_={**{name: stmt.excluded[name] for name in _FIGURES}, "imported_at": func.now()},
                    where=differs,
                ).returning(_u.provider)
                changed = len((await conn.execute(upsert)).all())
            cursor = insert(import_cursors).values(provider=provider, last_day=through)
            await conn.execute(
                cursor.on_conflict_do_update(
                    index_elements=[import_cursors.c.provider],
                    set_={"last_day": func.greatest(import_cursors.c.last_day, cursor.excluded.last_day)},
                )
            )
        return changed

    async def reported(self, start: date, end: date) -> list[ProviderUsage]:
        query = select(*[_u[name] for name in ("provider", "model", "day", *_FIGURES)]).where(
            _u.day.between(start, end)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query.order_by(_u.provider, _u.model, _u.day))).all()
        return [ProviderUsage(**row._asdict()) for row in rows]

    async def recorded_costs(self, start: date, end: date) -> dict[UsageKey, int]:
        day = cast(func.timezone("UTC", _r.occurred_at), Date)
        query = (
            select(_r.provider, _r.upstream_model, day.label("day"), func.sum(_r.cost_micros))
            .where(
                and_(
                    _r.occurred_at >= _midnight(start),
                    _r.occurred_at < _midnight(end + timedelta(days=1)),
                    _r.provider.is_not(None),
                )
            )
            .group_by(_r.provider, _r.upstream_model, day)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return {(provider, model or "", day): int(total) for provider, model, day, total in rows}

    async def report_drifts(self, events: Sequence[ReconciliationDriftedV1]) -> int:
        if not events:
            return 0
        stmt = insert(messaging.outbox).values([outbox_row(event) for event in events])
        async with self._engine.begin() as conn:
            staged = await conn.execute(
                stmt.on_conflict_do_nothing(index_elements=["event_id"]).returning(messaging.outbox.c.seq)
            )
            return len(staged.all())
