"""Use cases of analytics: record usage events once, and answer usage queries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from tollway.analytics.domain.flags import EffectiveFlag, Flag, checked_name, effective
from tollway.analytics.domain.monitoring import (
    ALL_DISTINCT,
    Bucket,
    Dimension,
    Distinct,
    ModelPage,
    ModelQuery,
    MonitorGroup,
    bucket_starts,
    filled_series,
    page_of_models,
    tokens_per_second,
)
from tollway.analytics.domain.provider_usage import (
    DEFAULT_TOLERANCE_BPS,
    ImportResult,
    ReconciliationLine,
    drift_event_id,
    reconcile,
    windows,
)
from tollway.analytics.domain.queries import Cursor, GroupBy, UsageFilters
from tollway.analytics.domain.records import from_completed, from_failed
from tollway.analytics.domain.reports import RequestPage, UsageReport, page_of, summed
from tollway.analytics.domain.tracking import TrackingCounts
from tollway.analytics.ports import (
    FlagStore,
    MonitorReader,
    ProviderUsageImporter,
    ProviderUsageStore,
    RequestLog,
    UsageReader,
)
from tollway.contracts import ReconciliationDriftedV1, RequestCompletedV1, RequestFailedV1

IMPORT_CHUNK_DAYS = 7  # days fetched and committed together: an interrupted import resumes at the last chunk
FIRST_IMPORT_DAYS = 7  # how far back an import without ``from`` and without a cursor reaches


async def record_completed_requests(events: Sequence[RequestCompletedV1], log: RequestLog, consumer: str) -> int:
    """One request row and its rollup increments per request id, however often the event is delivered."""
    return await log.add_once(consumer, [from_completed(e) for e in events])


async def record_failed_requests(events: Sequence[RequestFailedV1], log: RequestLog, consumer: str) -> int:
    """Failed requests count as requests and failures, with zero tokens and cost."""
    return await log.add_once(consumer, [from_failed(e) for e in events])


async def usage_report(reader: UsageReader, filters: UsageFilters, group_by: GroupBy | None) -> UsageReport:
    """Totals over the filters, and per group when asked (totals are then the groups' exact sum)."""
    if group_by is None:
        return UsageReport(filters=filters, group_by=None, totals=await reader.totals(filters), groups=[])
    groups = await reader.groups(filters, group_by)
    return UsageReport(filters=filters, group_by=group_by, totals=summed(groups), groups=groups)


async def list_requests(reader: UsageReader, filters: UsageFilters, after: Cursor | None, limit: int) -> RequestPage:
    """A page of request records, newest first; ``next_cursor`` only when more exist."""
    return page_of(await reader.requests(filters, after, limit + 1), limit)


async def request_summary(monitor: MonitorReader, filters: UsageFilters) -> MonitorGroup:
    """Every request the filters select, summed (one group, empty when nothing matched)."""
    (group,) = await monitor.groups(filters, distinct=ALL_DISTINCT)
    return group


async def request_series(monitor: MonitorReader, filters: UsageFilters, bucket: Bucket) -> list[MonitorGroup]:
    """One group per hour or day of the range, oldest first, quiet buckets included as zeros."""
    groups = await monitor.groups(filters, (bucket,))
    return filled_series(groups, bucket_starts(filters.start, filters.end, bucket))


async def requests_by(monitor: MonitorReader, filters: UsageFilters, dimension: Dimension) -> list[MonitorGroup]:
    """Groups by provider or model, busiest first (ties by name)."""
    other: Distinct = "models" if dimension == "provider" else "providers"
    groups = await monitor.groups(filters, (dimension,), distinct=(other,))
    return sorted(groups, key=lambda g: (-g.counters.requests, str(g.key[0] or "")))


async def models_usage(monitor: MonitorReader, filters: UsageFilters, query: ModelQuery) -> ModelPage:
    """The searchable, sortable models table, one page of it."""
    groups = await monitor.groups(filters, ("model",), search=query.search, distinct=("providers",))
    return page_of_models(groups, query.sort_by, query.order, query.page, query.limit)


async def monitor_snapshot(monitor: MonitorReader, windows: Sequence[UsageFilters]) -> list[MonitorGroup]:
    """One summary per window (e.g. today and the last 30 days), without latency buckets."""
    counted: tuple[Distinct, ...] = ("users", "api_keys", "models")
    return [(await monitor.groups(window, latency=False, distinct=counted))[0] for window in windows]


async def tracking_quality(monitor: MonitorReader, filters: UsageFilters) -> TrackingCounts:
    """Requests over the window by attribution: with a key, anonymous on purpose, or not attributed."""
    found = await monitor.tracking(filters, by_day=False)
    return found[0][1] if found else TrackingCounts()


async def tracking_trend(monitor: MonitorReader, filters: UsageFilters) -> list[tuple[datetime, TrackingCounts]]:
    """Attribution per UTC day of the range, oldest first, days without traffic included."""
    found = {moment: counts for moment, counts in await monitor.tracking(filters, by_day=True)}
    days = bucket_starts(filters.start, filters.end, "day")
    return [(day, found.get(day, TrackingCounts())) for day in days]


async def throughput(monitor: MonitorReader, filters: UsageFilters) -> list[MonitorGroup]:
    """Tokens per second per (model, provider), fastest first; pairs that generated nothing are left out."""
    groups = await monitor.groups(filters, ("model", "provider"), latency=False)
    timed = [g for g in groups if g.counters.generation_ms_sum > 0]
    return sorted(timed, key=lambda g: (-(tokens_per_second(g.counters) or 0.0), str(g.key)))


async def list_flags(store: FlagStore, account_id: str | None) -> tuple[list[Flag], list[EffectiveFlag] | None]:
    """The stored values, and with an account what it sees (its override, else the global value)."""
    flags = await store.all(account_id)
    return flags, None if account_id is None else effective(flags, account_id)


async def set_flag(store: FlagStore, name: str, account_id: str | None, enabled: bool, updated_by: str) -> Flag:
    return await store.set(checked_name(name), account_id, enabled, updated_by)


async def import_provider_usage(
    importer: ProviderUsageImporter, store: ProviderUsageStore, start: date | None, end: date
) -> ImportResult:
    """Fetch ``start``..``end`` chunk by chunk, upserting each with the cursor; without ``start``, resume at the cursor.

    The cursor's own day is fetched again: the provider may still have been filling it at the last import.
    """
    provider = importer.provider
    if start is None:
        cursor = await store.cursor(provider)
        start = cursor if cursor is not None else end - timedelta(days=FIRST_IMPORT_DAYS - 1)
    rows = changed = 0
    for first, last in windows(start, end, IMPORT_CHUNK_DAYS):
        fetched = await importer.fetch(first, last)
        changed += await store.save(provider, fetched, last)
        rows += len(fetched)
    cursor = await store.cursor(provider)
    return ImportResult(provider=provider, start=start, end=end, rows=rows, changed=changed, cursor=cursor)


async def reconciliation(
    store: ProviderUsageStore, start: date, end: date, tolerance_bps: int = DEFAULT_TOLERANCE_BPS
) -> tuple[list[ReconciliationLine], int]:
    """Provider-reported against recorded cost per key; each new drift is staged once as an event."""
    lines = reconcile(await store.reported(start, end), await store.recorded_costs(start, end), tolerance_bps)
    events = [_drift_event(line, tolerance_bps) for line in lines if line.drifted]
    return lines, await store.report_drifts(events)


def _drift_event(line: ReconciliationLine, tolerance_bps: int) -> ReconciliationDriftedV1:
    return ReconciliationDriftedV1(
        event_id=drift_event_id(line),
        provider=line.provider,
        model=line.model,
        day=line.day,
        provider_cost_micros=line.provider_cost_micros,
        recorded_cost_micros=line.recorded_cost_micros,
        drift_bps=line.drift_bps,
        tolerance_bps=tolerance_bps,
    )
