"""Use cases over in-memory ports: events become records once, reports total their groups, pages cut at limit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from tollway.analytics import handlers
from tollway.analytics.domain.queries import Cursor, GroupBy, UsageFilters
from tollway.analytics.domain.records import RequestRecord
from tollway.analytics.domain.reports import UsageGroup
from tollway.analytics.domain.rollups import Counters
from tollway.contracts import ProviderAttemptV1, RequestCompletedV1, RequestFailedV1

T0 = datetime(2026, 3, 1, tzinfo=UTC)
FILTERS = UsageFilters(start=T0, end=T0 + timedelta(days=1), user_id="u1")


class InMemoryRequestLog:
    def __init__(self) -> None:
        self.rows: dict[str, RequestRecord] = {}

    async def add_once(self, consumer: str, records: Sequence[RequestRecord]) -> int:
        new = {r.request_id: r for r in records if r.request_id not in self.rows}
        self.rows.update(new)
        return len(new)


class InMemoryReader:
    def __init__(self, records: list[RequestRecord]) -> None:
        self.records = records

    async def totals(self, filters: UsageFilters) -> Counters:
        return Counters(requests=len(self.records))

    async def groups(self, filters: UsageFilters, group_by: GroupBy) -> list[UsageGroup]:
        return [UsageGroup("a", Counters(requests=2, cost_micros=5)), UsageGroup(None, Counters(failures=1))]

    async def requests(self, filters: UsageFilters, after: Cursor | None, limit: int) -> list[RequestRecord]:
        return self.records[:limit]


def completed(request_id: str) -> RequestCompletedV1:
    return RequestCompletedV1(
        event_id=request_id,
        request_id=request_id,
        user_id="u1",
        account_id="a1",
        api_key_id="k1",
        is_anonymous=False,
        requested_model="gpt",
        provider="openai",
        upstream_model="gpt-4o",
        is_fallback=True,
        attempts=2,
        prompt_tokens=7,
        completion_tokens=3,
        cost_micros=42,
        ttft_ms=12,
        status="cancelled",
    )


async def test_completed_events_are_recorded_once() -> None:
    log = InMemoryRequestLog()
    assert await handlers.record_completed_requests([completed("r1"), completed("r1")], log, "c") == 1
    assert await handlers.record_completed_requests([completed("r1")], log, "c") == 0
    row = log.rows["r1"]
    assert (row.status, row.provider, row.is_fallback, row.attempts, row.cost_micros) == (
        "cancelled",
        "openai",
        True,
        2,
        42,
    )


async def test_failed_events_have_zero_usage_and_keep_their_attempts() -> None:
    log = InMemoryRequestLog()
    attempt = ProviderAttemptV1(provider="p1", upstream_model="m", error_class="timeout", status_code=504)
    failed = RequestFailedV1(
        request_id="f1",
        user_id="u1",
        account_id="a1",
        api_key_id="k1",
        is_anonymous=False,
        requested_model="gpt",
        error_class="upstream_unavailable",
        status_code=503,
        attempts=(attempt, attempt),
    )
    await handlers.record_failed_requests([failed], log, "c")
    row = log.rows["f1"]
    assert (row.status, row.error_class, row.status_code, row.attempts) == ("failed", "upstream_unavailable", 503, 2)
    assert row.failed_attempts == (attempt, attempt)
    assert (row.prompt_tokens, row.completion_tokens, row.cost_micros, row.provider) == (0, 0, 0, None)


async def test_grouped_report_totals_are_the_sum_of_its_groups() -> None:
    report = await handlers.usage_report(InMemoryReader([]), FILTERS, "model")
    assert report.totals == Counters(requests=2, failures=1, cost_micros=5)
    assert [g.key for g in report.groups] == ["a", None]


async def test_a_page_has_a_cursor_only_when_more_rows_exist() -> None:
    log = InMemoryRequestLog()
    await handlers.record_completed_requests([completed(f"r{i}") for i in range(3)], log, "c")
    records = list(log.rows.values())
    full = await handlers.list_requests(InMemoryReader(records), FILTERS, None, 2)
    assert [r.request_id for r in full.records] == ["r0", "r1"]
    assert full.next_cursor == Cursor(records[1].occurred_at, "r1")
    last = await handlers.list_requests(InMemoryReader(records), FILTERS, None, 3)
    assert last.next_cursor is None
