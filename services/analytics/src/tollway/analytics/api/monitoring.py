"""Operators' request monitor, models table, snapshot and tracking quality; tokens per second for any caller."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Any

from litestar import Controller, Request, Response, Router, get
from litestar.di import NamedDependency, Provide
from litestar.params import QueryParameter

from tollway.analytics import handlers
from tollway.analytics.api import tracking_metrics
from tollway.analytics.api.errors import EXCEPTION_HANDLERS
from tollway.analytics.api.monitoring_schemas import (
    AdminRequestListOut,
    AdminRequestsQueryIn,
    ModelsOut,
    ModelsUsageOut,
    ModelsUsageQueryIn,
    MonitorFiltersIn,
    MonitorOut,
    MonitorWindowOut,
    ProvidersOut,
    SeriesOut,
    SeriesQueryIn,
    SummaryOut,
    ThroughputIn,
    ThroughputOut,
)
from tollway.analytics.api.params import From, Text, To, parsed
from tollway.analytics.api.tracking_schemas import (
    TrackingQualityIn,
    TrackingQualityOut,
    TrackingTrendIn,
    TrackingTrendOut,
)
from tollway.analytics.api.usage import require_admin, require_caller
from tollway.analytics.bootstrap import provide_monitor, provide_reader
from tollway.analytics.domain import tracking
from tollway.analytics.domain.queries import UsageFilters, encode_cursor
from tollway.analytics.ports import MonitorReader, UsageReader

Monitor = NamedDependency[MonitorReader]
Number = Annotated[str | None, QueryParameter(required=False)]
SNAPSHOT_DAYS = 30


def _now() -> datetime:
    return datetime.now(UTC)


def monitor_query(
    *,
    user_id: Text = None,
    api_key_id: Text = None,
    model: Text = None,
    provider: Text = None,
    is_fallback: Text = None,
    date_from: From = None,
    date_to: To = None,
) -> MonitorFiltersIn:
    values = {"user_id": user_id, "api_key_id": api_key_id, "model": model, "provider": provider}
    values |= {"is_fallback": is_fallback, "from": date_from, "to": date_to}
    return parsed(MonitorFiltersIn, values)


def series_query(
    *,
    user_id: Text = None,
    api_key_id: Text = None,
    model: Text = None,
    provider: Text = None,
    is_fallback: Text = None,
    date_from: From = None,
    date_to: To = None,
    bucket: Annotated[str | None, QueryParameter(required=False, description="hour (default) | day")] = None,
) -> SeriesQueryIn:
    values = {"user_id": user_id, "api_key_id": api_key_id, "model": model, "provider": provider}
    values |= {"is_fallback": is_fallback, "from": date_from, "to": date_to, "bucket": bucket}
    return parsed(SeriesQueryIn, values)


def admin_requests_query(
    *,
    user_id: Text = None,
    api_key_id: Text = None,
    model: Text = None,
    provider: Text = None,
    status: Annotated[str | None, QueryParameter(required=False, description="ok | cancelled | failed")] = None,
    is_fallback: Text = None,
    date_from: From = None,
    date_to: To = None,
    limit: Number = None,
    cursor: Text = None,
) -> AdminRequestsQueryIn:
    values = {"user_id": user_id, "api_key_id": api_key_id, "model": model, "provider": provider, "status": status}
    values |= {"is_fallback": is_fallback, "from": date_from, "to": date_to, "limit": limit, "cursor": cursor}
    return parsed(AdminRequestsQueryIn, values)


def models_usage_query(
    *,
    q: Annotated[str | None, QueryParameter(required=False, description="part of the model name")] = None,
    provider: Text = None,
    user_id: Text = None,
    date_from: From = None,
    date_to: To = None,
    sort_by: Text = None,
    order: Annotated[str | None, QueryParameter(required=False, description="asc | desc (default)")] = None,
    page: Number = None,
    limit: Number = None,
) -> ModelsUsageQueryIn:
    values = {"q": q, "provider": provider, "user_id": user_id, "from": date_from, "to": date_to}
    values |= {"sort_by": sort_by, "order": order, "page": page, "limit": limit}
    return parsed(ModelsUsageQueryIn, values)


def tracking_quality_query(*, hours: Number = None) -> TrackingQualityIn:
    return parsed(TrackingQualityIn, {"hours": hours})


def tracking_trend_query(*, days: Number = None) -> TrackingTrendIn:
    return parsed(TrackingTrendIn, {"days": days})


def throughput_query(
    *,
    model: Text = None,
    provider: Text = None,
    window: Annotated[str | None, QueryParameter(required=False, description="1h (default), 24h, 7d, ...")] = None,
) -> ThroughputIn:
    return parsed(ThroughputIn, {"model": model, "provider": provider, "window": window})


def _with(provider: Any) -> dict[str, Provide]:
    return {"params": Provide(provider, sync_to_thread=False)}


class RequestMonitorController(Controller):
    path = "/admin/v1/requests"
    guards = [require_admin]  # noqa: RUF012 - Litestar reads these class attributes

    @get("/", dependencies=_with(admin_requests_query))
    async def list_requests(
        self, params: NamedDependency[AdminRequestsQueryIn], reader: NamedDependency[UsageReader]
    ) -> AdminRequestListOut:
        page = await handlers.list_requests(reader, params.admin_filters(), params.after(), params.limit)
        cursor = None if page.next_cursor is None else encode_cursor(page.next_cursor)
        return AdminRequestListOut.of(page, cursor)

    @get("/summary", dependencies=_with(monitor_query))
    async def summary(self, params: NamedDependency[MonitorFiltersIn], monitor: Monitor) -> SummaryOut:
        filters = params.monitor_filters()
        return SummaryOut.of(filters, await handlers.request_summary(monitor, filters))

    @get("/series", dependencies=_with(series_query))
    async def series(self, params: NamedDependency[SeriesQueryIn], monitor: Monitor) -> SeriesOut:
        filters = params.monitor_filters()
        return SeriesOut.of(filters, params.bucket, await handlers.request_series(monitor, filters, params.bucket))

    @get("/by-provider", dependencies=_with(monitor_query))
    async def by_provider(self, params: NamedDependency[MonitorFiltersIn], monitor: Monitor) -> ProvidersOut:
        filters = params.monitor_filters()
        return ProvidersOut.of(filters, await handlers.requests_by(monitor, filters, "provider"))

    @get("/by-model", dependencies=_with(monitor_query))
    async def by_model(self, params: NamedDependency[MonitorFiltersIn], monitor: Monitor) -> ModelsOut:
        filters = params.monitor_filters()
        return ModelsOut.of(filters, await handlers.requests_by(monitor, filters, "model"))


class ModelUsageController(Controller):
    path = "/admin/v1/models"
    guards = [require_admin]  # noqa: RUF012

    @get("/usage", dependencies=_with(models_usage_query))
    async def usage(self, params: NamedDependency[ModelsUsageQueryIn], monitor: Monitor) -> ModelsUsageOut:
        filters = params.monitor_filters()
        return ModelsUsageOut.paged(filters, await handlers.models_usage(monitor, filters, params.query()))


@get("/admin/v1/monitor", guards=[require_admin])
async def monitor_snapshot(monitor: Monitor) -> MonitorOut:
    """Today (UTC) and the last 30 days, including today."""
    now = _now()
    midnight = datetime.combine(now.date(), time(), UTC)
    end = midnight + timedelta(days=1)
    windows = [UsageFilters(start=midnight, end=end), UsageFilters(start=end - timedelta(days=SNAPSHOT_DAYS), end=end)]
    today, month = await handlers.monitor_snapshot(monitor, windows)
    return MonitorOut(
        generated_at=now,
        today=MonitorWindowOut.of(windows[0].start, today),
        last_30_days=MonitorWindowOut.of(windows[1].start, month),
    )


class TrackingController(Controller):
    path = "/admin/v1/tracking"
    guards = [require_admin]  # noqa: RUF012

    @get("/quality", dependencies=_with(tracking_quality_query))
    async def quality(self, params: NamedDependency[TrackingQualityIn], monitor: Monitor) -> TrackingQualityOut:
        filters = params.filters(_now())
        counts = await handlers.tracking_quality(monitor, filters)
        if params.hours == tracking.DEFAULT_HOURS:  # the gauges' window: publish the fresher figures at once
            tracking_metrics.publish(counts)
        return TrackingQualityOut.of(params.hours, filters, counts)

    @get("/trend", dependencies=_with(tracking_trend_query))
    async def trend(self, params: NamedDependency[TrackingTrendIn], monitor: Monitor) -> TrackingTrendOut:
        return TrackingTrendOut.of(params.days, await handlers.tracking_trend(monitor, params.filters(_now())))


@get("/v1/metrics/tokens-per-second", guards=[require_caller], dependencies=_with(throughput_query))
async def tokens_per_second(
    request: Request[Any, Any, Any], params: NamedDependency[ThroughputIn], monitor: Monitor
) -> Response[Any]:
    """JSON by default; Prometheus' text format when the caller accepts ``text/plain`` and not JSON."""
    filters = params.filters(_now())
    found = ThroughputOut.of(params.window, filters, await handlers.throughput(monitor, filters))
    accept = request.headers.get("accept", "")
    if "text/plain" in accept and "application/json" not in accept:
        return Response(found.prometheus(), media_type="text/plain; version=0.0.4; charset=utf-8")
    return Response(found)


def monitoring_router() -> Router:
    """A fresh router per app (routers are bound to the app that registers them)."""
    return Router(
        path="/",
        route_handlers=[
            RequestMonitorController,
            ModelUsageController,
            monitor_snapshot,
            TrackingController,
            tokens_per_second,
        ],
        dependencies={
            "reader": Provide(provide_reader, sync_to_thread=False),
            "monitor": Provide(provide_monitor, sync_to_thread=False),
        },
        exception_handlers=EXCEPTION_HANDLERS,
    )
