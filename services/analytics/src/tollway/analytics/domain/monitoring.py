"""Request monitoring: rollup groups with their latency histograms, and the statistics operators read from them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

import msgspec

from tollway.analytics.domain.latency import percentile
from tollway.analytics.domain.queries import InvalidQueryError
from tollway.analytics.domain.rollups import Counters

Dimension = Literal["hour", "day", "model", "provider"]
Bucket = Literal["hour", "day"]
SortOrder = Literal["asc", "desc"]
Distinct = Literal["users", "api_keys", "models", "providers"]
ALL_DISTINCT: tuple[Distinct, ...] = ("users", "api_keys", "models", "providers")

MAX_MODEL_PAGE = 500
DEFAULT_MODEL_PAGE = 50


class MonitorGroup(msgspec.Struct, frozen=True, kw_only=True):
    """Counters of one group of rollups, the latency bucket counts of the same rows, and what it spans."""

    key: tuple[str | datetime | None, ...]
    counters: Counters
    latency: dict[int, int] = msgspec.field(default_factory=dict)
    users: int = 0
    api_keys: int = 0
    models: int = 0
    providers: int = 0
    first_hour: datetime | None = None
    last_hour: datetime | None = None


class Stats(msgspec.Struct, frozen=True, kw_only=True):
    """Derived figures of one group; rates and speeds are plain numbers, money stays integer micros."""

    success_rate: float | None
    avg_cost_micros: int | None
    avg_latency_ms: int | None
    p50_latency_ms: int | None
    p95_latency_ms: int | None
    avg_ttft_ms: int | None
    tokens_per_second: float | None


def mean(total: int, count: int) -> int | None:
    return (total + count // 2) // count if count else None


def tokens_per_second(counters: Counters) -> float | None:
    """Completion tokens over the time spent generating them; ``None`` when nothing was timed."""
    if counters.generation_ms_sum <= 0:
        return None
    return round(counters.generation_tokens * 1000 / counters.generation_ms_sum, 2)


def stats_of(group: MonitorGroup) -> Stats:
    c = group.counters
    return Stats(
        success_rate=round((c.requests - c.failures) * 100 / c.requests, 2) if c.requests else None,
        avg_cost_micros=mean(c.cost_micros, c.requests),
        avg_latency_ms=mean(c.latency_ms_sum, c.requests),
        p50_latency_ms=percentile(group.latency, 0.5),
        p95_latency_ms=percentile(group.latency, 0.95),
        avg_ttft_ms=mean(c.ttft_ms_sum, c.ttft_count),
        tokens_per_second=tokens_per_second(c),
    )


def bucket_starts(start: datetime, end: datetime, bucket: Bucket) -> list[datetime]:
    """Every bucket of ``[start, end)``, oldest first, so a chart shows quiet periods as zeros, not gaps."""
    step = timedelta(hours=1) if bucket == "hour" else timedelta(days=1)
    moments, moment = [], start
    while moment < end:
        moments.append(moment)
        moment += step
    return moments


def filled_series(groups: list[MonitorGroup], starts: list[datetime]) -> list[MonitorGroup]:
    """One group per bucket start: the stored group, or an empty one where nothing happened."""
    found = {group.key[0]: group for group in groups}
    return [found.get(moment) or MonitorGroup(key=(moment,), counters=Counters()) for moment in starts]


# Sort keys of the models usage table; an unknown one is a 422 (the earlier system silently fell back).
MODEL_SORTS = (
    "model",
    "requests",
    "failures",
    "success_rate",
    "total_tokens",
    "prompt_tokens",
    "completion_tokens",
    "cost_micros",
    "avg_cost_micros",
    "avg_latency_ms",
    "p95_latency_ms",
    "tokens_per_second",
    "first_seen",
    "last_seen",
)


class ModelQuery(msgspec.Struct, frozen=True, kw_only=True):
    """Which page of the models table, searched by name and sorted how."""

    search: str | None = None
    sort_by: str = "cost_micros"
    order: SortOrder = "desc"
    page: int = 1
    limit: int = DEFAULT_MODEL_PAGE


class ModelPage(msgspec.Struct, frozen=True, kw_only=True):
    groups: list[MonitorGroup]
    page: int
    limit: int
    total_items: int

    @property
    def total_pages(self) -> int:
        return -(-self.total_items // self.limit)


def _sort_value(group: MonitorGroup, sort_by: str) -> float | str | datetime | None:
    c, s = group.counters, stats_of(group)
    values: dict[str, float | str | datetime | None] = {
        "model": str(group.key[0]),
        "requests": c.requests,
        "failures": c.failures,
        "success_rate": s.success_rate,
        "total_tokens": c.prompt_tokens + c.completion_tokens,
        "prompt_tokens": c.prompt_tokens,
        "completion_tokens": c.completion_tokens,
        "cost_micros": c.cost_micros,
        "avg_cost_micros": s.avg_cost_micros,
        "avg_latency_ms": s.avg_latency_ms,
        "p95_latency_ms": s.p95_latency_ms,
        "tokens_per_second": s.tokens_per_second,
        "first_seen": group.first_hour,
        "last_seen": group.last_hour,
    }
    return values[sort_by]


def page_of_models(groups: list[MonitorGroup], sort_by: str, order: SortOrder, page: int, limit: int) -> ModelPage:
    """One page of the models table by ``sort_by``; ties by model name, models without a value last."""
    if sort_by not in MODEL_SORTS:
        raise InvalidQueryError("sort_by", f"`sort_by` must be one of {', '.join(MODEL_SORTS)}")
    by_name = sorted(groups, key=lambda g: str(g.key[0]))
    valued = [(value, g) for g in by_name if (value := _sort_value(g, sort_by)) is not None]
    missing = [g for g in by_name if _sort_value(g, sort_by) is None]
    # A stable sort keeps name order among ties, in both directions.
    ranked = [g for _, g in sorted(valued, key=lambda pair: pair[0], reverse=order == "desc")] + missing
    offset = (page - 1) * limit
    return ModelPage(groups=ranked[offset : offset + limit], page=page, limit=limit, total_items=len(groups))
