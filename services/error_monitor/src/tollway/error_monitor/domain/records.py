"""Error records: the one shape every reported error and failed request is stored in."""

from __future__ import annotations

from datetime import datetime

import msgspec

from tollway.contracts import ErrorReportedV1, RequestFailedV1


class ErrorRecord(msgspec.Struct, frozen=True, kw_only=True):
    event_id: str
    occurred_at: datetime
    service: str
    kind: str
    severity: str
    message: str
    fingerprint: str
    subject: str | None = None
    request_id: str | None = None


def from_report(report: ErrorReportedV1) -> ErrorRecord:
    return ErrorRecord(
        event_id=report.event_id,
        occurred_at=report.occurred_at,
        service=report.service,
        kind=report.kind,
        severity=report.severity,
        message=report.message,
        fingerprint=report.fingerprint or f"{report.service}:{report.kind}",
        subject=report.subject,
        request_id=report.request_id,
    )


def from_failed_request(failed: RequestFailedV1) -> ErrorRecord:
    providers = ", ".join(f"{a.provider}:{a.error_class}" for a in failed.attempts) or "no attempt"
    return ErrorRecord(
        event_id=failed.event_id,
        occurred_at=failed.occurred_at,
        service="inference_router",
        kind="request_failed",
        severity="error",
        message=f"{failed.requested_model}: {failed.error_class} ({providers})",
        fingerprint=f"inference_router:request_failed:{failed.requested_model}:{failed.error_class}",
        request_id=failed.request_id,
    )
