"""Writing usage: request rows, inbox claims and rollup increments in one transaction per batch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tollway.analytics.db.tables import latency_histogram, messaging, requests, rollups
from tollway.analytics.domain.records import RequestRecord, distinct
from tollway.analytics.domain.rollups import (
    COUNTER_FIELDS,
    HistogramDelta,
    HistogramKey,
    RollupDelta,
    aggregate,
    histogram_deltas,
)
from tollway.platform.db import unnest_insert
from tollway.platform.messaging import claim_events

_json = msgspec.json.Encoder()
_RECORD_FIELDS: tuple[str, ...] = RequestRecord.__struct_fields__
_REQUEST_COLUMNS = [requests.c[name] for name in _RECORD_FIELDS]
_insert_requests = (
    unnest_insert(requests, _REQUEST_COLUMNS)
    .on_conflict_do_nothing(index_elements=[requests.c.request_id])
    .returning(requests.c.request_id)
)

_KEY_COLUMNS = list(rollups.primary_key.columns)
_upsert = unnest_insert(rollups, [*_KEY_COLUMNS, *(rollups.c[name] for name in COUNTER_FIELDS)])
_upsert_rollups = _upsert.on_conflict_do_update(
    index_elements=_KEY_COLUMNS,
    set_={name: rollups.c[name] + _upsert.excluded[name] for name in COUNTER_FIELDS},
)

_HISTOGRAM_KEY = list(latency_histogram.primary_key.columns)
_histogram = unnest_insert(latency_histogram, [*_HISTOGRAM_KEY, latency_histogram.c["count"]])
_upsert_histogram = _histogram.on_conflict_do_update(
    index_elements=_HISTOGRAM_KEY, set_={"count": latency_histogram.c["count"] + _histogram.excluded["count"]}
)


def _request_arrays(records: Sequence[RequestRecord]) -> dict[str, list[Any]]:
    # Column-major in one pass (astuple + zip): this runs for every event at thousands per second.
    columns = [list(values) for values in zip(*map(msgspec.structs.astuple, records), strict=True)]
    arrays = dict(zip(_RECORD_FIELDS, columns, strict=True))
    arrays["failed_attempts"] = [
        None if attempts is None else _json.encode(attempts).decode() for attempts in arrays["failed_attempts"]
    ]
    return arrays


def _rollup_arrays(deltas: Sequence[RollupDelta]) -> dict[str, list[Any]]:
    arrays: dict[str, list[Any]] = {
        column.name: [getattr(d.key, column.name) for d in deltas] for column in _KEY_COLUMNS
    }
    for name in COUNTER_FIELDS:
        arrays[name] = [getattr(d.counters, name) for d in deltas]
    return arrays


def _histogram_arrays(deltas: Sequence[HistogramDelta]) -> dict[str, list[Any]]:
    arrays: dict[str, list[Any]] = {name: [getattr(d.key, name) for d in deltas] for name in HistogramKey._fields}
    arrays["bucket"] = [d.bucket for d in deltas]
    arrays["count"] = [d.requests for d in deltas]
    return arrays


class SqlAlchemyRequestLog:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add_once(self, consumer: str, records: Sequence[RequestRecord]) -> int:
        # Ids, rows and rollup keys are each handled in one sorted order, so two workers sharing a durable
        # wait for each other's locks instead of deadlocking.
        batch = distinct(list(records))
        if not batch:
            return 0
        async with self._engine.begin() as conn:
            claimed = await claim_events(conn, messaging.inbox, consumer, [r.request_id for r in batch])
            inserted = await self._insert_requests(conn, [r for r in batch if r.request_id in claimed])
            # Only rows inserted now are rolled up: rollups stay the exact sum of the stored rows even if the
            # same request id ever arrived through both events.
            new = [r for r in batch if r.request_id in inserted]
            deltas = aggregate(new)
            if deltas:
                await conn.execute(_upsert_rollups, _rollup_arrays(deltas))
                await conn.execute(_upsert_histogram, _histogram_arrays(histogram_deltas(new)))
        return len(inserted)

    async def _insert_requests(self, conn: AsyncConnection, rows: list[RequestRecord]) -> set[str]:
        if not rows:
            return set()
        result = await conn.execute(_insert_requests, _request_arrays(rows))
        return set(result.scalars().all())
