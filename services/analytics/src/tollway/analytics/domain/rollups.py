"""Hourly rollups: a batch of new request records folded into one counter delta per rollup key."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import NamedTuple

import msgspec

from tollway.analytics.domain.records import RequestRecord

# Rollup keys are NOT NULL columns (they form the primary key); "none" is stored as the empty string.
NONE = ""


class RollupKey(NamedTuple):
    """Field order is the primary-key order: every writer touches keys in this sort order (no deadlocks)."""

    user_id: str
    hour: datetime
    api_key_id: str
    model: str
    provider: str
    is_fallback: bool


class Counters(msgspec.Struct, kw_only=True):
    """Additive counters of one rollup row; every field is summed, never overwritten."""

    requests: int = 0
    failures: int = 0
    cancelled: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    cost_micros: int = 0
    latency_ms_sum: int = 0
    ttft_ms_sum: int = 0
    ttft_count: int = 0

    def add(self, record: RequestRecord) -> None:
        self.requests += 1
        self.failures += record.status == "failed"
        self.cancelled += record.status == "cancelled"
        self.prompt_tokens += record.prompt_tokens
        self.completion_tokens += record.completion_tokens
        self.cache_read_tokens += record.cache_read_tokens
        self.cache_write_tokens += record.cache_write_tokens
        self.reasoning_tokens += record.reasoning_tokens
        self.cost_micros += record.cost_micros
        self.latency_ms_sum += record.latency_ms
        if record.ttft_ms is not None:
            self.ttft_ms_sum += record.ttft_ms
            self.ttft_count += 1


COUNTER_FIELDS: tuple[str, ...] = Counters.__struct_fields__


class RollupDelta(NamedTuple):
    key: RollupKey
    counters: Counters


def hour_of(moment: datetime) -> datetime:
    """The UTC hour a moment falls in (naive moments are taken as UTC)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def key_of(record: RequestRecord) -> RollupKey:
    return RollupKey(
        user_id=record.user_id or NONE,
        hour=hour_of(record.occurred_at),
        api_key_id=record.api_key_id or NONE,
        model=record.requested_model,
        provider=record.provider or NONE,
        is_fallback=record.is_fallback,
    )


def aggregate(records: Iterable[RequestRecord]) -> list[RollupDelta]:
    """One delta per key, sorted by key: each rollup row is touched once per batch, in a global order."""
    deltas: dict[RollupKey, Counters] = {}
    for record in records:
        key = key_of(record)
        counters = deltas.get(key)
        if counters is None:
            counters = deltas[key] = Counters()
        counters.add(record)
    return [RollupDelta(key, deltas[key]) for key in sorted(deltas)]
