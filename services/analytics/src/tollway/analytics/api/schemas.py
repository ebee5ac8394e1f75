"""HTTP schemas of analytics: query parameters in, usage reports and request pages out (money in micro-USD)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated

import msgspec

from tollway.analytics.domain.money import usd
from tollway.analytics.domain.queries import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    Cursor,
    GroupBy,
    UsageFilters,
    decode_cursor,
    encode_cursor,
    period,
)
from tollway.analytics.domain.records import RequestRecord
from tollway.analytics.domain.reports import RequestPage, UsageReport
from tollway.analytics.domain.rollups import Counters


class FiltersIn(msgspec.Struct, frozen=True, kw_only=True):
    """Filters shared by every usage route; ``from``/``to`` are whole UTC days, both included."""

    provider: str | None = None
    model: str | None = None
    is_fallback: bool | None = None
    api_key_id: str | None = None
    from_: date | None = msgspec.field(default=None, name="from")
    to: date | None = None

    def filters(self, user_id: str | None) -> UsageFilters:
        days = period(self.from_, self.to, today=datetime.now(UTC).date())
        return UsageFilters(
            start=days.start,
            end=days.end,
            user_id=user_id,
            api_key_id=self.api_key_id,
            model=self.model,
            provider=self.provider,
            is_fallback=self.is_fallback,
        )


class UsageQueryIn(FiltersIn, frozen=True, kw_only=True):
    group_by: GroupBy | None = None


class AdminUsageQueryIn(UsageQueryIn, frozen=True, kw_only=True):
    user_id: str | None = None


class RequestsQueryIn(FiltersIn, frozen=True, kw_only=True):
    limit: Annotated[int, msgspec.Meta(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE
    cursor: str | None = None

    def after(self) -> Cursor | None:
        return None if self.cursor is None else decode_cursor(self.cursor)


class UsageTotalsOut(msgspec.Struct, frozen=True, kw_only=True):
    requests: int
    failures: int
    cancelled: int
    prompt_tokens: int
    completion_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int
    total_tokens: int
    cost_micros: int
    cost_usd: str
    avg_latency_ms: int | None
    avg_ttft_ms: int | None


class UsageGroupOut(UsageTotalsOut, frozen=True, kw_only=True):
    key: str | None


def _totals(c: Counters) -> dict[str, object]:
    return {
        **{name: getattr(c, name) for name in _SHOWN_COUNTERS},
        "total_tokens": c.prompt_tokens + c.completion_tokens,
        "cost_usd": usd(c.cost_micros),
        "avg_latency_ms": _mean(c.latency_ms_sum, c.requests),
        "avg_ttft_ms": _mean(c.ttft_ms_sum, c.ttft_count),
    }


_SHOWN_COUNTERS = [name for name in Counters.__struct_fields__ if name in UsageTotalsOut.__struct_fields__]


def _mean(total: int, count: int) -> int | None:
    return (total + count // 2) // count if count else None


class UsageOut(msgspec.Struct, frozen=True, kw_only=True):
    object: str = "usage"
    from_: date = msgspec.field(name="from")
    to: date
    group_by: GroupBy | None
    totals: UsageTotalsOut
    groups: list[UsageGroupOut]

    @classmethod
    def of(cls, report: UsageReport) -> UsageOut:
        return cls(
            from_=report.filters.start.date(),
            to=(report.filters.end - timedelta(days=1)).date(),
            group_by=report.group_by,
            totals=msgspec.convert(_totals(report.totals), UsageTotalsOut),
            groups=[msgspec.convert({"key": g.key, **_totals(g.counters)}, UsageGroupOut) for g in report.groups],
        )


class AttemptOut(msgspec.Struct, frozen=True, kw_only=True):
    """A failed attempt of a failed request (the upstream's raw message stays internal)."""

    provider: str
    upstream_model: str
    error_class: str
    status_code: int | None
    latency_ms: int


class RequestOut(msgspec.Struct, frozen=True, kw_only=True):
    request_id: str
    occurred_at: datetime
    status: str
    api_key_id: str | None
    requested_model: str
    provider: str | None
    upstream_model: str | None
    is_fallback: bool
    attempts: int
    failed_attempts: list[AttemptOut] | None
    prompt_tokens: int
    completion_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int
    usage_estimated: bool
    cost_micros: int
    cost_usd: str
    latency_ms: int
    ttft_ms: int | None
    api: str
    stream: bool
    error_class: str | None
    status_code: int | None

    @classmethod
    def of(cls, record: RequestRecord) -> RequestOut:
        fields = msgspec.to_builtins(record)
        fields["cost_usd"] = usd(record.cost_micros)
        return msgspec.convert(fields, cls, strict=False)


class RequestListOut(msgspec.Struct, frozen=True, kw_only=True):
    object: str = "list"
    data: list[RequestOut]
    has_more: bool
    next_cursor: str | None

    @classmethod
    def of(cls, page: RequestPage) -> RequestListOut:
        cursor = None if page.next_cursor is None else encode_cursor(page.next_cursor)
        return cls(data=[RequestOut.of(r) for r in page.records], has_more=cursor is not None, next_cursor=cursor)
