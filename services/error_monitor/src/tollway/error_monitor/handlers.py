"""Use cases of error_monitor."""

from __future__ import annotations

from collections.abc import Sequence

from tollway.contracts import ErrorReportedV1, RequestFailedV1
from tollway.error_monitor.domain.records import from_failed_request, from_report
from tollway.error_monitor.ports import ErrorLog


async def record_error_reports(reports: Sequence[ErrorReportedV1], log: ErrorLog, consumer: str) -> int:
    """Store each reported error once, however often it is delivered."""
    return await log.add_once(consumer, [from_report(r) for r in reports])


async def record_failed_requests(failures: Sequence[RequestFailedV1], log: ErrorLog, consumer: str) -> int:
    """Store each failed request once as an error of inference_router."""
    return await log.add_once(consumer, [from_failed_request(f) for f in failures])
