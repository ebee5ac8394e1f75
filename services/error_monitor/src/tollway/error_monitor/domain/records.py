"""Error records: the one shape every reported error and failed request is stored in, classified and fingerprinted."""

from __future__ import annotations

from datetime import datetime

import msgspec

from tollway.contracts import ErrorReportedV1, RequestFailedV1
from tollway.error_monitor.domain.classification import Category, Impact, classify
from tollway.error_monitor.domain.fingerprints import pattern_id

MAX_STORED_MESSAGE = 2_000


class ErrorRecord(msgspec.Struct, frozen=True, kw_only=True):
    event_id: str
    occurred_at: datetime
    service: str
    kind: str
    severity: str  # the reporter's level: info | warning | error | critical
    message: str
    fingerprint: str
    subject: str | None = None
    request_id: str | None = None
    # Classification (seed 004 rules) and the pattern this error belongs to.
    category: Category = "UNKNOWN"
    impact: Impact = "medium"
    fixable: bool = False
    pattern_id: str = ""
    location: str = ""
    provider: str | None = None


def classified(
    *,
    event_id: str,
    occurred_at: datetime,
    service: str,
    kind: str,
    severity: str,
    message: str,
    fingerprint: str,
    location: str,
    subject: str | None = None,
    request_id: str | None = None,
    provider: str | None = None,
) -> ErrorRecord:
    found = classify(message, kind, provider)
    return ErrorRecord(
        event_id=event_id,
        occurred_at=occurred_at,
        service=service,
        kind=kind,
        severity=severity,
        message=message[:MAX_STORED_MESSAGE],
        fingerprint=fingerprint[:255],
        subject=subject,
        request_id=request_id,
        category=found.category,
        impact=found.impact,
        fixable=found.fixable,
        pattern_id=pattern_id(kind, location, message),
        location=location,
        provider=provider,
    )


def from_report(report: ErrorReportedV1) -> ErrorRecord:
    # The reporter's own fingerprint (e.g. a consumer's durable) is the most precise location it can give.
    location = f"{report.service}:{report.fingerprint or report.subject or ''}"
    return classified(
        event_id=report.event_id,
        occurred_at=report.occurred_at,
        service=report.service,
        kind=report.kind,
        severity=report.severity,
        message=report.message,
        fingerprint=report.fingerprint or f"{report.service}:{report.kind}",
        location=location,
        subject=report.subject,
        request_id=report.request_id,
    )


def from_failed_request(failed: RequestFailedV1) -> ErrorRecord:
    attempts = ", ".join(
        f"{a.provider}:{a.error_class}{'' if a.status_code is None else f' {a.status_code}'}" for a in failed.attempts
    )
    provider = failed.attempts[-1].provider if failed.attempts else None
    return classified(
        event_id=failed.event_id,
        occurred_at=failed.occurred_at,
        service="inference_router",
        kind="request_failed",
        severity="error",
        message=f"{failed.requested_model}: {failed.error_class} ({attempts or 'no attempt'})",
        fingerprint=f"inference_router:request_failed:{failed.requested_model}:{failed.error_class}",
        location=f"inference_router:{failed.requested_model}",
        request_id=failed.request_id,
        provider=provider,
    )
