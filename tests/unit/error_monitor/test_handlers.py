"""Reported errors and failed requests become error records; the log decides what is new."""

from __future__ import annotations

from collections.abc import Sequence

from tollway.contracts import ErrorReportedV1, ProviderAttemptV1, RequestCompletedV1, RequestFailedV1
from tollway.error_monitor import handlers
from tollway.error_monitor.domain.incidents import Attempt
from tollway.error_monitor.domain.records import ErrorRecord, from_report


class InMemoryErrorLog:
    def __init__(self) -> None:
        self.records: dict[tuple[str, str], ErrorRecord] = {}
        self.attempts: list[tuple[str, Attempt]] = []

    async def add_once(
        self, consumer: str, records: Sequence[ErrorRecord], attempts: Sequence[tuple[str, Attempt]] = ()
    ) -> int:
        new = {(consumer, r.event_id): r for r in records if (consumer, r.event_id) not in self.records}
        self.records.update(new)
        self.attempts += attempts
        return len(new)


async def test_a_report_is_recorded_once_per_consumer() -> None:
    log = InMemoryErrorLog()
    report = ErrorReportedV1(service="billing", kind="poison_message", message="undecodable")
    assert await handlers.record_error_reports([report, report], log, "c") == 1
    assert await handlers.record_error_reports([report], log, "c") == 0
    (record,) = log.records.values()
    assert record.fingerprint == "billing:poison_message"


async def test_failed_request_names_model_and_providers() -> None:
    log = InMemoryErrorLog()
    failed = RequestFailedV1(
        request_id="r1",
        user_id="u",
        account_id="a",
        api_key_id="k",
        is_anonymous=False,
        requested_model="gpt",
        error_class="upstream_unavailable",
        status_code=503,
        attempts=(ProviderAttemptV1(provider="p1", upstream_model="m", error_class="timeout"),),
    )
    assert await handlers.record_failed_requests([failed], log, "c") == 1
    (record,) = log.records.values()
    assert (record.service, record.kind, record.request_id) == ("inference_router", "request_failed", "r1")
    assert record.message == "gpt: upstream_unavailable (p1:timeout)"
    assert (record.category, record.impact, record.provider) == ("PROVIDER_ERROR", "high", "p1")
    assert record.pattern_id.startswith("pat_")
    [(event_id, attempt)] = log.attempts
    assert (event_id, attempt.provider, attempt.ok) == (failed.event_id, "p1", False)


async def test_a_served_request_is_a_success_after_its_failed_attempts() -> None:
    log = InMemoryErrorLog()
    served = RequestCompletedV1(
        request_id="r2",
        user_id="u",
        account_id="a",
        api_key_id="k",
        is_anonymous=False,
        requested_model="gpt",
        provider="p2",
        upstream_model="m",
        is_fallback=True,
        attempts=2,
        prompt_tokens=1,
        completion_tokens=1,
        latency_ms=40,
        failed_attempts=(ProviderAttemptV1(provider="p1", upstream_model="m", error_class="timeout"),),
    )
    assert await handlers.record_completed_requests([served], log, "c") == 1
    assert [(a.provider, a.ok) for _, a in log.attempts] == [("p1", False), ("p2", True)]
    assert log.records == {}


def test_the_same_error_with_other_ids_and_numbers_is_one_pattern() -> None:
    first = ErrorReportedV1(service="billing", kind="poison", message="bad event 12 for req_abc after 3.5s")
    second = ErrorReportedV1(service="billing", kind="poison", message="bad event 907 for req_xyz after 10s")
    other = ErrorReportedV1(service="gateway", kind="poison", message="bad event 12 for req_abc after 3.5s")
    assert from_report(first).pattern_id == from_report(second).pattern_id != from_report(other).pattern_id
