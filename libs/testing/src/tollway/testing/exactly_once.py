"""Sample usage events and a consumer whose effect proves exactly-once processing (for platform tests)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tollway.contracts import RequestCompletedV1
from tollway.platform.db import make_metadata
from tollway.platform.messaging import claim_events
from tollway.platform.messaging.tables import MessagingTables

# The consuming side of these tests borrows the analytics schema's inbox; effects go to a scratch table.
analytics_tables = MessagingTables(make_metadata("analytics"))


def completed(i: int) -> RequestCompletedV1:
    request_id = f"req-{i:06d}"
    return RequestCompletedV1(
        event_id=request_id,
        request_id=request_id,
        user_id="u1",
        account_id="a1",
        api_key_id="k1",
        is_anonymous=False,
        requested_model="m",
        provider="p",
        upstream_model="um",
        is_fallback=False,
        attempts=1,
        prompt_tokens=10,
        completion_tokens=i % 50,
        cost_micros=i,
    )


class EffectRecorder:
    """Applies each event's effect (an ``effects`` row) and its inbox claim in one transaction."""

    def __init__(self, engine: AsyncEngine, consumer: str) -> None:
        self.engine = engine
        self.consumer = consumer
        self.deliveries = 0

    async def __call__(self, events: Sequence[RequestCompletedV1]) -> None:
        self.deliveries += len(events)
        async with self.engine.begin() as conn:
            new = await claim_events(conn, analytics_tables.inbox, self.consumer, [e.event_id for e in events])
            rows = [{"event_id": e.event_id, "cost": e.cost_micros} for e in events if e.event_id in new]
            if rows:
                await conn.execute(
                    text("INSERT INTO platform_test.effects (event_id, cost) VALUES (:event_id, :cost)"), rows
                )

    async def counts(self) -> tuple[int, int]:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(text("SELECT count(*), count(DISTINCT event_id) FROM platform_test.effects"))
            ).one()
        return int(row[0]), int(row[1])


async def create_effects_table(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("CREATE SCHEMA IF NOT EXISTS platform_test"))
        await conn.execute(text("CREATE TABLE IF NOT EXISTS platform_test.effects (event_id text, cost bigint)"))
        await conn.execute(text("TRUNCATE platform_test.effects"))
