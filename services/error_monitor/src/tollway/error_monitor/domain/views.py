"""What operators read: errors, patterns and incident statistics, and the filters that select them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

import msgspec

from tollway.error_monitor.domain.classification import IMPACT_RANK
from tollway.error_monitor.domain.incidents import Incident, duration_s

DEFAULT_LIMIT, MAX_LIMIT = 50, 500
TOP = 10


class ErrorView(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    occurred_at: datetime
    service: str
    kind: str
    level: str
    message: str
    category: str
    severity: str
    fixable: bool
    pattern_id: str
    provider: str | None
    request_id: str | None


class PatternView(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    service: str
    kind: str
    location: str
    message: str
    example: str
    category: str
    severity: str
    fixable: bool
    suggested_fix: str | None
    count: int
    first_seen: datetime
    last_seen: datetime


class ErrorFilters(msgspec.Struct, frozen=True, kw_only=True):
    severity: str | None = None
    fixable: bool | None = None
    service: str | None = None
    category: str | None = None
    pattern_id: str | None = None
    since: datetime | None = None


class IncidentFilters(msgspec.Struct, frozen=True, kw_only=True):
    status: str | None = None
    severity: str | None = None
    kind: str | None = None
    provider: str | None = None


def by_severity_then_count(patterns: Sequence[PatternView]) -> list[PatternView]:
    """Most severe first, then most frequent (the earlier system's order for fixable patterns)."""
    return sorted(patterns, key=lambda p: (IMPACT_RANK.get(p.severity, 9), -p.count, p.id))


class Statistics(msgspec.Struct, frozen=True, kw_only=True):
    total_incidents: int
    ongoing: int
    total_downtime_seconds: int
    average_duration_seconds: int
    by_severity: dict[str, int]
    by_status: dict[str, int]
    by_kind: dict[str, int]
    downtime_by_provider: dict[str, int]


def downtime_s(incident: Incident, now: datetime) -> int:
    """How long it lasted; an ongoing incident counts until now (the earlier system counted it as zero)."""
    if incident.duration_seconds is not None:
        return incident.duration_seconds
    return duration_s(incident.started_at, incident.ended_at or now)


def statistics(incidents: Sequence[Incident], now: datetime) -> Statistics:
    durations = [downtime_s(i, now) for i in incidents]
    per_provider: Counter[str] = Counter()
    for incident, seconds in zip(incidents, durations, strict=True):
        if incident.kind == "provider_health" and incident.provider:
            per_provider[incident.provider] += seconds
    return Statistics(
        total_incidents=len(incidents),
        ongoing=sum(i.status == "ongoing" for i in incidents),
        total_downtime_seconds=sum(durations),
        average_duration_seconds=sum(durations) // len(durations) if durations else 0,
        by_severity=dict(Counter(i.severity for i in incidents)),
        by_status=dict(Counter(i.status for i in incidents)),
        by_kind=dict(Counter(i.kind for i in incidents)),
        downtime_by_provider=dict(per_provider.most_common()),
    )


class NotFoundError(Exception):
    """The pattern or incident asked for does not exist (the API answers 404)."""


class AlreadyResolvedError(Exception):
    """The incident was resolved already, by an operator or by recovery (the API answers 409)."""


class PatternSummary(msgspec.Struct, frozen=True, kw_only=True):
    total_patterns: int = 0
    critical_patterns: int = 0
    high_patterns: int = 0
    fixable_patterns: int = 0
    errors_by_category: dict[str, int] = msgspec.field(default_factory=dict)


class InvalidQueryError(Exception):
    """A query parameter the caller must fix; ``param`` names it (the API answers 422)."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param
        self.message = message
