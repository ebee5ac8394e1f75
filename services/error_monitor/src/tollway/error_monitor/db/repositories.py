"""SQL access of error_monitor (schema ``error_monitor`` only)."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
from sqlalchemy.ext.asyncio import AsyncEngine

from tollway.error_monitor.db.tables import errors, messaging
from tollway.error_monitor.domain.records import ErrorRecord
from tollway.platform.messaging import claim_events


class SqlAlchemyErrorLog:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add_once(self, consumer: str, records: Sequence[ErrorRecord]) -> int:
        async with self._engine.begin() as conn:
            new = await claim_events(conn, messaging.inbox, consumer, [r.event_id for r in records])
            rows = [msgspec.structs.asdict(r) for r in records if r.event_id in new]
            if rows:
                await conn.execute(errors.insert(), rows)
        return len(rows)
