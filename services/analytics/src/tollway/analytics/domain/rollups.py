"""Hourly rollups: a batch of new request records folded into one counter delta per rollup key."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import NamedTuple

import msgspec

from tollway.analytics.domain.latency import bucket_of
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
    # Tokens per second: completion tokens of served requests over the time spent generating them.
    generation_tokens: int = 0
    generation_ms_sum: int = 0
    # Requests the gateway let in without a key on purpose (operator-allowed anonymous models).
    anonymous: int = 0

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
        generating_ms = generation_ms(record)
        if generating_ms:
            self.generation_tokens += record.completion_tokens
            self.generation_ms_sum += generating_ms
        self.anonymous += record.is_anonymous


COUNTER_FIELDS: tuple[str, ...] = Counters.__struct_fields__


def generation_ms(record: RequestRecord) -> int:
    """How long a served request spent producing its completion (after the first token when one was timed).

    0 when there is nothing to measure: a failed request, no completion tokens, or no time after the first token.
    """
    if record.status == "failed" or record.completion_tokens <= 0:
        return 0
    return max(record.latency_ms - (record.ttft_ms or 0), 0)


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


class HistogramKey(NamedTuple):
    """Latency buckets are kept per hour, model and provider only (not per user or key): a few rows per hour."""

    hour: datetime
    model: str
    provider: str


class HistogramDelta(NamedTuple):
    key: HistogramKey
    bucket: int
    requests: int


def histogram_deltas(records: Iterable[RequestRecord]) -> list[HistogramDelta]:
    """Latency bucket counts per (hour, model, provider), sorted (the latency percentiles come from these)."""
    counts: dict[tuple[HistogramKey, int], int] = {}
    for record in records:
        key = HistogramKey(hour_of(record.occurred_at), record.requested_model, record.provider or NONE)
        slot = (key, bucket_of(record.latency_ms))
        counts[slot] = counts.get(slot, 0) + 1
    return [HistogramDelta(key, bucket, counts[key, bucket]) for key, bucket in sorted(counts)]
