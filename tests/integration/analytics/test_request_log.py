"""The request log on real Postgres: one row per request id, rollups always the exact sum of the rows."""

from __future__ import annotations

import asyncio
import random
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tollway.analytics import handlers
from tollway.analytics.db.repositories import SqlAlchemyRequestLog
from tollway.analytics.db.tables import requests

COMPLETED = "analytics__request_completed"
FAILED = "analytics__request_failed"


async def test_duplicates_within_and_across_batches_are_stored_once(
    request_log: SqlAlchemyRequestLog, events: Any, stored: Any
) -> None:
    first = [events.completed(i) for i in range(100)]
    assert await handlers.record_completed_requests(first + first[:30], request_log, COMPLETED) == 100
    assert await handlers.record_completed_requests([*first[50:], events.completed(100)], request_log, COMPLETED) == 1
    state = await stored()
    assert (state.rows, state.distinct_ids) == (101, 101)
    assert state.from_rollups == state.from_rows
    assert state.from_rows["cost_micros"] == sum(e.cost_micros for e in [*first, events.completed(100)])


async def test_failed_requests_count_with_zero_usage_and_keep_their_attempts(
    request_log: SqlAlchemyRequestLog, events: Any, stored: Any, engine: AsyncEngine
) -> None:
    await handlers.record_failed_requests([events.failed(1), events.failed(2)], request_log, FAILED)
    await handlers.record_completed_requests([events.completed(1)], request_log, COMPLETED)
    state = await stored()
    assert state.from_rollups == state.from_rows
    assert (state.from_rows["requests"], state.from_rows["failures"]) == (3, 2)
    async with engine.connect() as conn:
        row = (await conn.execute(select(requests).where(requests.c.request_id == "fail-000001"))).one()
    assert (row.status, row.error_class, row.status_code, row.attempts, row.cost_micros) == (
        "failed",
        "upstream_unavailable",
        503,
        1,
        0,
    )
    assert row.failed_attempts[0]["error_class"] == "timeout"


async def test_a_request_id_seen_on_both_subjects_is_one_row_and_rolled_up_once(
    request_log: SqlAlchemyRequestLog, events: Any, stored: Any
) -> None:
    # Not supposed to happen (one event per request), but the rollups must never drift from the rows if it does.
    twin = events.failed(7, event_id="req-000007", request_id="req-000007")
    await handlers.record_completed_requests([events.completed(7)], request_log, COMPLETED)
    assert await handlers.record_failed_requests([twin], request_log, FAILED) == 0
    state = await stored()
    assert state.rows == 1
    assert state.from_rollups == state.from_rows


async def test_concurrent_writers_with_overlapping_batches_neither_deadlock_nor_double_count(
    engine: AsyncEngine, events: Any, stored: Any
) -> None:
    # Two workers on one durable can hold overlapping redeliveries; users/models spread the rollup keys.
    pool = [
        events.completed(i, user_id=f"u{i % 5}", requested_model=f"m{i % 3}", api_key_id=f"k{i % 4}")
        for i in range(600)
    ]
    rng = random.Random(7)
    batches = [rng.sample(pool, 200) for _ in range(12)]
    logs = [SqlAlchemyRequestLog(engine) for _ in range(4)]

    async def worker(n: int) -> int:
        return sum([await handlers.record_completed_requests(b, logs[n], COMPLETED) for b in batches[n::4]])

    inserted = await asyncio.gather(*(worker(n) for n in range(4)))
    state = await stored()
    assert sum(inserted) == state.rows == state.distinct_ids
    assert state.from_rollups == state.from_rows
