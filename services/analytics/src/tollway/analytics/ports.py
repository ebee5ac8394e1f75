"""What analytics' use cases need from the outside world."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Protocol, runtime_checkable

from tollway.analytics.domain.flags import Flag
from tollway.analytics.domain.monitoring import Dimension, Distinct, MonitorGroup
from tollway.analytics.domain.provider_usage import ProviderUsage, UsageKey
from tollway.analytics.domain.queries import Cursor, GroupBy, UsageFilters
from tollway.analytics.domain.records import RequestRecord
from tollway.analytics.domain.reports import UsageGroup
from tollway.analytics.domain.rollups import Counters
from tollway.analytics.domain.tracking import TrackingCounts
from tollway.contracts import ReconciliationDriftedV1


class RequestLog(Protocol):
    async def add_once(self, consumer: str, records: Sequence[RequestRecord]) -> int:
        """Store the records whose ids are new and add them to the hourly rollups, in one transaction.

        New means unclaimed in ``consumer``'s inbox and absent from the request rows; returns how many were new.
        """
        ...


# Runtime-checkable because Litestar validates injected dependencies against their annotation.
@runtime_checkable
class UsageReader(Protocol):
    async def totals(self, filters: UsageFilters) -> Counters:
        """Counters summed over the rollups the filters select."""
        ...

    async def groups(self, filters: UsageFilters, group_by: GroupBy) -> list[UsageGroup]:
        """Counters per group, time groups oldest first, others by cost (highest first)."""
        ...

    async def requests(self, filters: UsageFilters, after: Cursor | None, limit: int) -> list[RequestRecord]:
        """Up to ``limit`` request records, newest first, strictly older than ``after``."""
        ...


@runtime_checkable
class MonitorReader(Protocol):
    async def groups(
        self,
        filters: UsageFilters,
        dimensions: Sequence[Dimension] = (),
        *,
        search: str | None = None,
        latency: bool = True,
        distinct: Sequence[Distinct] = (),
    ) -> list[MonitorGroup]:
        """Rollups summed per combination of ``dimensions`` (exactly one group when there are none).

        ``distinct`` names the distinct counts wanted (users, api keys, models, providers); the others stay 0.
        """
        ...

    async def tracking(self, filters: UsageFilters, by_day: bool) -> list[tuple[datetime | None, TrackingCounts]]:
        """Requests by attribution, per UTC day (oldest first) or in one total keyed ``None``."""
        ...


@runtime_checkable
class FlagStore(Protocol):
    async def all(self, account_id: str | None = None) -> list[Flag]:
        """Every global value and the overrides of ``account_id`` (all accounts' when ``None``)."""
        ...

    async def set(self, name: str, account_id: str | None, enabled: bool, updated_by: str) -> Flag:
        """Set the global value (``account_id`` ``None``) or one account's override."""
        ...


class ProviderUsageImporter(Protocol):
    """One provider's admin usage and cost API, normalised to ``ProviderUsage`` rows (one per model and day)."""

    provider: str

    async def fetch(self, start: date, end: date) -> list[ProviderUsage]:
        """Every (model, day) the provider reports from ``start`` to ``end`` (both included), all pages walked.

        Raises ``ProviderUsageError`` when the provider answers with an error.
        """
        ...


@runtime_checkable
class ProviderUsageStore(Protocol):
    async def cursor(self, provider: str) -> date | None:
        """The last day ``provider``'s usage was imported through, ``None`` before the first import."""
        ...

    async def save(self, provider: str, rows: Sequence[ProviderUsage], through: date) -> int:
        """Upsert the rows and move the cursor to ``through`` (never back) in one transaction; rows changed."""
        ...

    async def reported(self, start: date, end: date) -> list[ProviderUsage]:
        """Imported rows of the days ``start``..``end`` (both included)."""
        ...

    async def recorded_costs(self, start: date, end: date) -> dict[UsageKey, int]:
        """Tollway's own cost per (provider, upstream model, UTC day) from the request rows."""
        ...

    async def report_drifts(self, events: Sequence[ReconciliationDriftedV1]) -> int:
        """Stage drift events in the outbox, each event id at most once; how many were new."""
        ...
