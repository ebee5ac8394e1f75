"""Incidents: when a provider's health or an error pattern's rate opens one, when recovery closes it, what it shows."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Literal

import msgspec

from tollway.contracts import IncidentOpenedV1, IncidentResolvedV1, ProviderAttemptV1
from tollway.contracts.error_monitor import IncidentKind, IncidentSeverity

IncidentStatus = Literal["ongoing", "resolved"]
AUTO = "auto"  # resolved_by of an incident closed by the provider's recovery
TOP_MESSAGES = 10
TOP_MESSAGE_CHARS = 200


class IncidentRules(msgspec.Struct, frozen=True, kw_only=True):
    """Thresholds (``ERROR_MONITOR_*`` settings).

    A provider is unhealthy after ``breaker_failures`` failed attempts in a row (the router's breaker would open)
    or when ``failure_rate`` of at least ``min_attempts`` attempts in the last ``window_s`` failed; it has
    recovered after ``recovery_successes`` successes in a row. A pattern spikes at ``spike_errors`` errors
    within ``window_s``.
    """

    window_s: float = 300.0
    min_attempts: int = 10
    failure_rate: float = 0.5
    breaker_failures: int = 5
    recovery_successes: int = 3
    slow_latency_ms: int = 0  # 0 = no latency rule; else mean latency of the window above it opens one
    spike_errors: int = 20


class Attempt(msgspec.Struct, frozen=True, kw_only=True, order=True):
    """One call to a provider as the router reported it: a served request or one failed attempt."""

    occurred_at: datetime
    provider: str
    ok: bool
    latency_ms: int = 0


class ProviderHealth(msgspec.Struct, kw_only=True):
    """Running state of one provider: consecutive outcomes, plus the window's totals when they were read."""

    provider: str
    consecutive_failures: int = 0
    consecutive_successes: int = 0
    window_attempts: int = 0
    window_failures: int = 0
    window_latency_ms_sum: int = 0

    def record(self, attempt: Attempt) -> None:
        if attempt.ok:
            self.consecutive_successes += 1
            self.consecutive_failures = 0
        else:
            self.consecutive_failures += 1
            self.consecutive_successes = 0


def attempts_of_failed(occurred_at: datetime, attempts: Sequence[ProviderAttemptV1]) -> list[Attempt]:
    return [Attempt(occurred_at=occurred_at, provider=a.provider, ok=False, latency_ms=a.latency_ms) for a in attempts]


def attempts_of_completed(
    occurred_at: datetime, provider: str, latency_ms: int, failed: Sequence[ProviderAttemptV1]
) -> list[Attempt]:
    """The deployments that failed before one served the request, then the one that served it."""
    return [
        *attempts_of_failed(occurred_at, failed),
        Attempt(occurred_at=occurred_at, provider=provider, ok=True, latency_ms=latency_ms),
    ]


def unhealthy_reason(health: ProviderHealth, rules: IncidentRules) -> str | None:
    """Why the provider needs an incident, or ``None`` while it is healthy."""
    if health.consecutive_failures >= rules.breaker_failures:
        return f"{health.consecutive_failures} failed attempts in a row"
    attempts, failures = health.window_attempts, health.window_failures
    if attempts >= rules.min_attempts and failures >= rules.failure_rate * attempts:
        return f"{failures} of {attempts} attempts failed in {int(rules.window_s // 60)} min"
    if rules.slow_latency_ms and attempts >= rules.min_attempts:
        mean = health.window_latency_ms_sum // attempts
        if mean > rules.slow_latency_ms:
            return f"mean latency {mean} ms over {attempts} attempts"
    return None


def has_recovered(health: ProviderHealth, rules: IncidentRules) -> bool:
    return health.consecutive_successes >= rules.recovery_successes


def provider_severity(health: ProviderHealth) -> IncidentSeverity:
    """Critical when nothing gets through any more; high while some attempts still succeed."""
    return "critical" if health.window_failures >= health.window_attempts else "high"


def new_incident_id() -> str:
    return "inc_" + os.urandom(10).hex()


class Incident(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    kind: IncidentKind
    subject: str  # the provider, or the pattern id
    provider: str | None
    pattern_id: str | None
    title: str
    severity: IncidentSeverity
    status: IncidentStatus
    started_at: datetime
    ended_at: datetime | None = None
    duration_seconds: int | None = None
    resolved_by: str | None = None
    notes: str | None = None
    error_count: int = 0
    reason: str = ""


def provider_incident(health: ProviderHealth, reason: str, at: datetime) -> Incident:
    failures = max(health.window_failures, health.consecutive_failures)
    return Incident(
        id=new_incident_id(),
        kind="provider_health",
        subject=health.provider,
        provider=health.provider,
        pattern_id=None,
        title=f"{health.provider} is failing: {reason}",
        severity=provider_severity(health),
        status="ongoing",
        started_at=at,
        error_count=failures,
        reason=reason,
    )


def spike_incident(pattern_id: str, message: str, impact: IncidentSeverity, errors: int, at: datetime) -> Incident:
    return Incident(
        id=new_incident_id(),
        kind="error_spike",
        subject=pattern_id,
        provider=None,
        pattern_id=pattern_id,
        title=f"Error spike: {message[:120]}",
        severity=impact,
        status="ongoing",
        started_at=at,
        error_count=errors,
        reason=f"{errors} errors of one pattern in the window",
    )


def duration_s(started_at: datetime, ended_at: datetime) -> int:
    return max(int((ended_at - started_at).total_seconds()), 0)


def opened_event(incident: Incident) -> IncidentOpenedV1:
    return IncidentOpenedV1(
        occurred_at=incident.started_at,
        incident_id=incident.id,
        fingerprint=incident.subject,
        service="inference_router" if incident.kind == "provider_health" else "error_monitor",
        title=incident.title,
        severity="critical" if incident.severity == "critical" else "error",
        error_count=incident.error_count,
        kind=incident.kind,
        provider=incident.provider,
        incident_severity=incident.severity,
    )


def resolved_event(incident: Incident, resolved_by: str, ended_at: datetime) -> IncidentResolvedV1:
    return IncidentResolvedV1(
        occurred_at=ended_at,
        incident_id=incident.id,
        fingerprint=incident.subject,
        kind=incident.kind,
        provider=incident.provider,
        resolved_by=resolved_by,
        started_at=incident.started_at,
        ended_at=ended_at,
        duration_seconds=duration_s(incident.started_at, ended_at),
    )


class LogLine(msgspec.Struct, frozen=True, kw_only=True):
    """An error captured around an incident, as its logs show it."""

    timestamp: datetime
    level: str
    service: str
    kind: str
    category: str
    message: str
    request_id: str | None = None


class Analysis(msgspec.Struct, frozen=True, kw_only=True):
    total: int
    error_count: int
    warning_count: int
    critical_count: int
    by_kind: dict[str, int]
    by_category: dict[str, int]
    top_errors: list[tuple[str, int]]


def analysed(lines: Iterable[LogLine]) -> Analysis:
    """Counts by level, kind and category, and the ten most frequent messages (cut to 200 characters)."""
    rows = list(lines)
    levels = Counter(line.level for line in rows)
    messages = Counter(line.message[:TOP_MESSAGE_CHARS] for line in rows)
    return Analysis(
        total=len(rows),
        error_count=levels["error"],
        warning_count=levels["warning"],
        critical_count=levels["critical"],
        by_kind=dict(Counter(line.kind for line in rows).most_common()),
        by_category=dict(Counter(line.category for line in rows).most_common()),
        top_errors=messages.most_common(TOP_MESSAGES),
    )
