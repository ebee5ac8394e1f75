"""HTTP schemas of the request monitor, models table, tracking quality and tokens/s (money in micro-USD)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

import msgspec

from tollway.analytics.api.schemas import FiltersIn, RequestOut, RequestsQueryIn
from tollway.analytics.domain.money import usd
from tollway.analytics.domain.monitoring import (
    DEFAULT_MODEL_PAGE,
    MAX_MODEL_PAGE,
    Bucket,
    ModelPage,
    ModelQuery,
    MonitorGroup,
    SortOrder,
    stats_of,
)
from tollway.analytics.domain.queries import MAX_RANGE_DAYS, InvalidQueryError, UsageFilters
from tollway.analytics.domain.records import RequestRecord
from tollway.analytics.domain.reports import RequestPage
from tollway.analytics.domain.rollups import hour_of

RequestStatus = Literal["ok", "cancelled", "failed"]
_WINDOW = re.compile(r"^(\d{1,4})([hd])$")


class MonitorFiltersIn(FiltersIn, frozen=True, kw_only=True):
    user_id: str | None = None

    def monitor_filters(self) -> UsageFilters:
        return self.filters(user_id=self.user_id)


class SeriesQueryIn(MonitorFiltersIn, frozen=True, kw_only=True):
    bucket: Bucket = "hour"


class AdminRequestsQueryIn(RequestsQueryIn, frozen=True, kw_only=True):
    user_id: str | None = None
    status: RequestStatus | None = None

    def admin_filters(self) -> UsageFilters:
        return msgspec.structs.replace(self.filters(user_id=self.user_id), status=self.status)


class ModelsUsageQueryIn(MonitorFiltersIn, frozen=True, kw_only=True):
    q: str | None = None
    sort_by: str = "cost_micros"
    order: SortOrder = "desc"
    page: Annotated[int, msgspec.Meta(ge=1)] = 1
    limit: Annotated[int, msgspec.Meta(ge=1, le=MAX_MODEL_PAGE)] = DEFAULT_MODEL_PAGE

    def query(self) -> ModelQuery:
        return ModelQuery(search=self.q, sort_by=self.sort_by, order=self.order, page=self.page, limit=self.limit)


class ThroughputIn(msgspec.Struct, frozen=True, kw_only=True):
    model: str | None = None
    provider: str | None = None
    window: str = "1h"

    def filters(self, now: datetime) -> UsageFilters:
        """The last ``window`` (``<n>h`` or ``<n>d``, at most 93 days) in whole UTC hours, the current one included."""
        found = _WINDOW.match(self.window)
        hours = int(found.group(1)) * (24 if found.group(2) == "d" else 1) if found else 0
        if not 1 <= hours <= MAX_RANGE_DAYS * 24:
            raise InvalidQueryError("window", "`window` must be like 1h, 24h or 7d, at most 93 days")
        end = hour_of(now) + timedelta(hours=1)
        return UsageFilters(start=end - timedelta(hours=hours), end=end, model=self.model, provider=self.provider)


class StatsOut(msgspec.Struct, frozen=True, kw_only=True):
    requests: int
    failures: int
    cancelled: int
    success_rate: float | None
    prompt_tokens: int
    completion_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int
    total_tokens: int
    cost_micros: int
    cost_usd: str
    avg_cost_micros: int | None
    avg_latency_ms: int | None
    p50_latency_ms: int | None
    p95_latency_ms: int | None
    avg_ttft_ms: int | None
    tokens_per_second: float | None


_COUNTED: tuple[str, ...] = ("requests", "failures", "cancelled", "prompt_tokens", "completion_tokens")
_COUNTED += ("cache_read_tokens", "cache_write_tokens", "reasoning_tokens", "cost_micros")


def stats_fields(group: MonitorGroup) -> dict[str, Any]:
    c = group.counters
    fields: dict[str, Any] = {name: getattr(c, name) for name in _COUNTED}
    fields |= msgspec.structs.asdict(stats_of(group))
    fields |= {"total_tokens": c.prompt_tokens + c.completion_tokens, "cost_usd": usd(c.cost_micros)}
    return fields


def _days(filters: UsageFilters) -> dict[str, date]:
    return {"from": filters.start.date(), "to": (filters.end - timedelta(days=1)).date()}


class SummaryOut(StatsOut, frozen=True, kw_only=True):
    object: str = "requests.summary"
    from_: date = msgspec.field(name="from")
    to: date
    users: int
    api_keys: int
    models: int
    providers: int
    first_hour: datetime | None
    last_hour: datetime | None

    @classmethod
    def of(cls, filters: UsageFilters, group: MonitorGroup) -> SummaryOut:
        spans = {name: getattr(group, name) for name in ("users", "api_keys", "models", "providers")}
        spans |= {"first_hour": group.first_hour, "last_hour": group.last_hour}
        return msgspec.convert({**stats_fields(group), **spans, **_days(filters)}, cls)


class SeriesPointOut(StatsOut, frozen=True, kw_only=True):
    t: datetime


class SeriesOut(msgspec.Struct, frozen=True, kw_only=True):
    object: str = "requests.series"
    bucket: Bucket
    from_: date = msgspec.field(name="from")
    to: date
    data: list[SeriesPointOut]

    @classmethod
    def of(cls, filters: UsageFilters, bucket: Bucket, groups: list[MonitorGroup]) -> SeriesOut:
        points = [msgspec.convert({**stats_fields(g), "t": g.key[0]}, SeriesPointOut) for g in groups]
        days = _days(filters)
        return cls(bucket=bucket, from_=days["from"], to=days["to"], data=points)


class ProviderOut(StatsOut, frozen=True, kw_only=True):
    provider: str | None
    models: int


class ModelOut(StatsOut, frozen=True, kw_only=True):
    model: str
    providers: int
    first_seen: datetime | None
    last_seen: datetime | None


def provider_out(group: MonitorGroup) -> ProviderOut:
    return msgspec.convert({**stats_fields(group), "provider": group.key[0], "models": group.models}, ProviderOut)


def model_out(group: MonitorGroup) -> ModelOut:
    extra = {"model": group.key[0], "providers": group.providers}
    extra |= {"first_seen": group.first_hour, "last_seen": group.last_hour}
    return msgspec.convert({**stats_fields(group), **extra}, ModelOut)


class ProvidersOut(msgspec.Struct, frozen=True, kw_only=True):
    object: str = "list"
    from_: date = msgspec.field(name="from")
    to: date
    data: list[ProviderOut]

    @classmethod
    def of(cls, filters: UsageFilters, groups: list[MonitorGroup]) -> ProvidersOut:
        days = _days(filters)
        return cls(from_=days["from"], to=days["to"], data=[provider_out(g) for g in groups])


class ModelsOut(msgspec.Struct, frozen=True, kw_only=True):
    object: str = "list"
    from_: date = msgspec.field(name="from")
    to: date
    data: list[ModelOut]

    @classmethod
    def of(cls, filters: UsageFilters, groups: list[MonitorGroup]) -> ModelsOut:
        days = _days(filters)
        return cls(from_=days["from"], to=days["to"], data=[model_out(g) for g in groups])


class PaginationOut(msgspec.Struct, frozen=True, kw_only=True):
    page: int
    limit: int
    total_items: int
    total_pages: int
    has_next: bool
    has_prev: bool


class ModelsUsageOut(ModelsOut, frozen=True, kw_only=True):
    pagination: PaginationOut

    @classmethod
    def paged(cls, filters: UsageFilters, page: ModelPage) -> ModelsUsageOut:
        days = _days(filters)
        pagination = PaginationOut(
            page=page.page,
            limit=page.limit,
            total_items=page.total_items,
            total_pages=page.total_pages,
            has_next=page.page < page.total_pages,
            has_prev=page.page > 1,
        )
        data = [model_out(g) for g in page.groups]
        return cls(from_=days["from"], to=days["to"], data=data, pagination=pagination)


class AdminRequestOut(RequestOut, frozen=True, kw_only=True):
    user_id: str | None
    is_anonymous: bool

    @classmethod
    def of(cls, record: RequestRecord) -> AdminRequestOut:
        fields = msgspec.to_builtins(record)
        fields["cost_usd"] = usd(record.cost_micros)
        return msgspec.convert(fields, cls, strict=False)


class AdminRequestListOut(msgspec.Struct, frozen=True, kw_only=True):
    object: str = "list"
    data: list[AdminRequestOut]
    has_more: bool
    next_cursor: str | None

    @classmethod
    def of(cls, page: RequestPage, cursor: str | None) -> AdminRequestListOut:
        return cls(data=[AdminRequestOut.of(r) for r in page.records], has_more=cursor is not None, next_cursor=cursor)


class MonitorWindowOut(msgspec.Struct, frozen=True, kw_only=True):
    since: datetime
    requests: int
    failures: int
    anonymous_requests: int
    total_tokens: int
    cost_micros: int
    cost_usd: str
    active_users: int
    active_api_keys: int
    models: int

    @classmethod
    def of(cls, since: datetime, group: MonitorGroup) -> MonitorWindowOut:
        c = group.counters
        return cls(
            since=since,
            requests=c.requests,
            failures=c.failures,
            anonymous_requests=c.anonymous,
            total_tokens=c.prompt_tokens + c.completion_tokens,
            cost_micros=c.cost_micros,
            cost_usd=usd(c.cost_micros),
            active_users=group.users,
            active_api_keys=group.api_keys,
            models=group.models,
        )


class MonitorOut(msgspec.Struct, frozen=True, kw_only=True):
    object: str = "monitor"
    generated_at: datetime
    today: MonitorWindowOut
    last_30_days: MonitorWindowOut


class ThroughputRowOut(msgspec.Struct, frozen=True, kw_only=True):
    model: str
    provider: str | None
    requests: int
    completion_tokens: int
    generation_ms: int
    tokens_per_second: float | None


class ThroughputOut(msgspec.Struct, frozen=True, kw_only=True):
    object: str = "tokens_per_second"
    window: str
    since: datetime
    until: datetime
    data: list[ThroughputRowOut]

    @classmethod
    def of(cls, window: str, filters: UsageFilters, groups: list[MonitorGroup]) -> ThroughputOut:
        rows = [
            ThroughputRowOut(
                model=str(g.key[0]),
                provider=None if g.key[1] is None else str(g.key[1]),
                requests=g.counters.requests,
                completion_tokens=g.counters.generation_tokens,
                generation_ms=g.counters.generation_ms_sum,
                tokens_per_second=stats_of(g).tokens_per_second,
            )
            for g in groups
        ]
        return cls(window=window, since=filters.start, until=filters.end, data=rows)

    def prometheus(self) -> str:
        """The same figures in Prometheus' text exposition format."""

        def label(value: str | None) -> str:
            return (value or "").replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

        lines = [
            "# HELP tollway_tokens_per_second Completion tokens per second of generation time over the window.",
            "# TYPE tollway_tokens_per_second gauge",
        ]
        for row in self.data:
            labels = f'model="{label(row.model)}",provider="{label(row.provider)}",window="{label(self.window)}"'
            lines.append(f"tollway_tokens_per_second{{{labels}}} {row.tokens_per_second or 0}")
        return "\n".join(lines) + "\n"
