"""Use cases of analytics: record usage events once, and answer usage queries."""

from __future__ import annotations

from collections.abc import Sequence

from tollway.analytics.domain.queries import Cursor, GroupBy, UsageFilters
from tollway.analytics.domain.records import from_completed, from_failed
from tollway.analytics.domain.reports import RequestPage, UsageReport, page_of, summed
from tollway.analytics.ports import RequestLog, UsageReader
from tollway.contracts import RequestCompletedV1, RequestFailedV1


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
