"""What usage queries return: summed counters, optionally per group, and pages of request records."""

from __future__ import annotations

import msgspec

from tollway.analytics.domain.queries import Cursor, GroupBy, UsageFilters
from tollway.analytics.domain.records import RequestRecord
from tollway.analytics.domain.rollups import COUNTER_FIELDS, Counters


class UsageGroup(msgspec.Struct, frozen=True):
    """One group of a report; ``key`` is ``None`` for "none" (e.g. no provider served a failed request)."""

    key: str | None
    counters: Counters


class UsageReport(msgspec.Struct, frozen=True, kw_only=True):
    filters: UsageFilters
    group_by: GroupBy | None
    totals: Counters
    groups: list[UsageGroup]


class RequestPage(msgspec.Struct, frozen=True):
    records: list[RequestRecord]
    next_cursor: Cursor | None


def summed(groups: list[UsageGroup]) -> Counters:
    """Totals of a grouped report: integer sums, so exactly what an ungrouped query would return."""
    total = Counters()
    for group in groups:
        for name in COUNTER_FIELDS:
            setattr(total, name, getattr(total, name) + getattr(group.counters, name))
    return total


def page_of(records: list[RequestRecord], limit: int) -> RequestPage:
    """A page from ``limit + 1`` fetched records: the extra one only says that more exist."""
    if len(records) <= limit:
        return RequestPage(records, None)
    last = records[limit - 1]
    return RequestPage(records[:limit], Cursor(last.occurred_at, last.request_id))
