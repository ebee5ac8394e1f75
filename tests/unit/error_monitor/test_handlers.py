"""Reported errors and failed requests become error records; the log decides what is new."""

from __future__ import annotations

from collections.abc import Sequence

from tollway.contracts import ErrorReportedV1, ProviderAttemptV1, RequestFailedV1
from tollway.error_monitor import handlers
from tollway.error_monitor.domain.records import ErrorRecord


class InMemoryErrorLog:
    def __init__(self) -> None:
        self.records: dict[tuple[str, str], ErrorRecord] = {}

    async def add_once(self, consumer: str, records: Sequence[ErrorRecord]) -> int:
        new = {(consumer, r.event_id): r for r in records if (consumer, r.event_id) not in self.records}
        self.records.update(new)
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
