"""analytics on real Postgres/NATS: usage events as the router sends them, and what the tables hold."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tollway.analytics.db.repositories import SqlAlchemyRequestLog
from tollway.analytics.db.tables import requests, rollups
from tollway.contracts import ProviderAttemptV1, RequestCompletedV1, RequestFailedV1

# Counters with the same name on request rows and rollups (requests and failures are counted from rows).
SUMMED = (
    "prompt_tokens",
    "completion_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cost_micros",
)
TOTALS = ("requests", "failures", *SUMMED)


class Events:
    """Usage events as the router publishes them (``event_id == request_id``), at ``at`` unless told otherwise."""

    def __init__(self) -> None:
        self.at = datetime.now(UTC).replace(minute=30, second=0, microsecond=0)

    def completed(self, i: int, **fields: Any) -> RequestCompletedV1:
        request_id = f"req-{i:06d}"
        values: dict[str, Any] = {
            "event_id": request_id,
            "request_id": request_id,
            "occurred_at": self.at,
            "user_id": "u1",
            "account_id": "a1",
            "api_key_id": "k1",
            "is_anonymous": False,
            "requested_model": "gpt",
            "provider": "openai",
            "upstream_model": "gpt-4o",
            "is_fallback": False,
            "attempts": 1,
            "prompt_tokens": 10 + i % 7,
            "completion_tokens": i % 50,
            "cache_read_tokens": i % 3,
            "reasoning_tokens": i % 2,
            "cost_micros": 1_000 + i,
            "latency_ms": 100 + i % 10,
            "ttft_ms": 20,
        }
        return RequestCompletedV1(**{**values, **fields})

    def failed(self, i: int, **fields: Any) -> RequestFailedV1:
        request_id = f"fail-{i:06d}"
        attempt = ProviderAttemptV1(provider="openai", upstream_model="gpt-4o", error_class="timeout", status_code=504)
        values: dict[str, Any] = {
            "event_id": request_id,
            "request_id": request_id,
            "occurred_at": self.at,
            "user_id": "u1",
            "account_id": "a1",
            "api_key_id": "k1",
            "is_anonymous": False,
            "requested_model": "gpt",
            "error_class": "upstream_unavailable",
            "status_code": 503,
            "attempts": (attempt,),
            "latency_ms": 250,
        }
        return RequestFailedV1(**{**values, **fields})


class Stored(msgspec.Struct, frozen=True):
    """Row count, distinct ids, and the same totals summed from the rows and from the rollups."""

    rows: int
    distinct_ids: int
    from_rows: dict[str, int]
    from_rollups: dict[str, int]


async def read_stored(engine: AsyncEngine) -> Stored:
    r, u = requests.c, rollups.c
    row_query = select(
        func.count(),
        func.count(r.request_id.distinct()),
        func.count().filter(r.status == "failed"),
        *(func.coalesce(func.sum(r[name]), 0) for name in SUMMED),
    )
    rollup_query = select(*(func.coalesce(func.sum(u[name]), 0) for name in TOTALS))
    async with engine.connect() as conn:
        row_totals = (await conn.execute(row_query)).one()
        rollup_totals = (await conn.execute(rollup_query)).one()
    rows, distinct_ids, *rest = (int(value) for value in row_totals)
    return Stored(
        rows=rows,
        distinct_ids=distinct_ids,
        from_rows=dict(zip(TOTALS, [rows, *rest], strict=True)),
        from_rollups={name: int(value) for name, value in zip(TOTALS, rollup_totals, strict=True)},
    )


@pytest.fixture
def events() -> Events:
    return Events()


@pytest.fixture
def request_log(engine: AsyncEngine) -> SqlAlchemyRequestLog:
    return SqlAlchemyRequestLog(engine)


@pytest.fixture
def stored(engine: AsyncEngine) -> Callable[[], Awaitable[Stored]]:
    async def read() -> Stored:
        return await read_stored(engine)

    return read
