"""HTTP schemas of error_monitor: query parameters in, errors, patterns and incidents out."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal, TypeVar

import msgspec

from tollway.error_monitor.domain.classification import Category, Impact
from tollway.error_monitor.domain.incidents import Analysis, Incident, LogLine
from tollway.error_monitor.domain.suggestions import FixSuggestion
from tollway.error_monitor.domain.views import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    ErrorFilters,
    ErrorView,
    IncidentFilters,
    InvalidQueryError,
    PatternSummary,
    PatternView,
    Statistics,
)

Q = TypeVar("Q", bound=msgspec.Struct)
_AT = re.compile(r" - at `\$\.(\w+)`")
Level = Literal["info", "warning", "error", "critical"]
Limit = Annotated[int, msgspec.Meta(ge=1, le=MAX_LIMIT)]


def parsed(query_type: type[Q], values: dict[str, str | None]) -> Q:
    """The Struct built from raw query strings; a bad value is ``InvalidQueryError`` naming the parameter."""
    given = {name: value for name, value in values.items() if value}
    try:
        return msgspec.convert(given, query_type, strict=False)
    except msgspec.ValidationError as exc:
        found = _AT.search(str(exc))
        param = found.group(1) if found else "query"
        raise InvalidQueryError(param, f"invalid `{param}`: {_AT.sub('', str(exc))}") from None


class ErrorsQueryIn(msgspec.Struct, frozen=True, kw_only=True):
    severity: Impact | None = None
    fixable: bool | None = None
    service: str | None = None
    category: Category | None = None
    since: datetime | None = None
    limit: Limit = DEFAULT_LIMIT
    before: int | None = None

    def filters(self) -> ErrorFilters:
        if self.since is not None and self.since.tzinfo is None:
            raise InvalidQueryError("since", "`since` needs a time zone, e.g. 2026-12-03T09:00:00Z")
        return ErrorFilters(
            severity=self.severity,
            fixable=self.fixable,
            service=self.service,
            category=self.category,
            since=self.since,
        )


class PatternsQueryIn(ErrorsQueryIn, frozen=True, kw_only=True):
    sort: Literal["count", "severity"] = "count"


class IncidentsQueryIn(msgspec.Struct, frozen=True, kw_only=True):
    status: Literal["ongoing", "resolved"] | None = None
    severity: Impact | None = None
    kind: Literal["provider_health", "error_spike"] | None = None
    provider: str | None = None
    limit: Limit = DEFAULT_LIMIT

    def filters(self) -> IncidentFilters:
        return IncidentFilters(status=self.status, severity=self.severity, kind=self.kind, provider=self.provider)


class StatsQueryIn(msgspec.Struct, frozen=True, kw_only=True):
    days: Annotated[int, msgspec.Meta(ge=1, le=365)] = 30

    def since(self, now: datetime) -> datetime:
        return now - timedelta(days=self.days)


class LogsQueryIn(msgspec.Struct, frozen=True, kw_only=True):
    level: Level | None = None
    service: str | None = None
    search: str | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 1_000

    def filters(self) -> ErrorFilters:
        return ErrorFilters(severity=self.level, service=self.service)


class ResolveIn(msgspec.Struct, frozen=True, kw_only=True):
    resolved_by: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None
    notes: Annotated[str, msgspec.Meta(max_length=5_000)] | None = None

    def who(self) -> str:
        return f"admin:{self.resolved_by}" if self.resolved_by else "admin"


class ErrorListOut(msgspec.Struct, frozen=True, kw_only=True):
    object: str = "list"
    data: list[ErrorView]
    has_more: bool
    next_before: int | None


class PatternListOut(msgspec.Struct, frozen=True, kw_only=True):
    object: str = "list"
    data: list[PatternView]


class PatternOut(PatternView, frozen=True, kw_only=True):
    recent_errors: list[ErrorView]


class IncidentOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    kind: str
    subject: str
    provider: str | None
    pattern_id: str | None
    title: str
    severity: str
    status: str
    reason: str
    error_count: int
    opened_at: datetime
    ended_at: datetime | None
    duration_seconds: int
    resolved_by: str | None
    notes: str | None

    @classmethod
    def of(cls, incident: Incident, now: datetime | None = None) -> IncidentOut:
        end = incident.ended_at or now or datetime.now(UTC)
        fields = msgspec.structs.asdict(incident)
        fields |= {"opened_at": incident.started_at, "duration_seconds": incident.duration_seconds}
        if incident.duration_seconds is None:
            fields["duration_seconds"] = max(int((end - incident.started_at).total_seconds()), 0)
        return msgspec.convert(fields, cls, from_attributes=True)


class IncidentListOut(msgspec.Struct, frozen=True, kw_only=True):
    object: str = "list"
    total_incidents: int
    ongoing: int
    resolved: int
    data: list[IncidentOut]


class LogsOut(msgspec.Struct, frozen=True, kw_only=True):
    object: str = "list"
    incident_id: str
    total_logs: int
    filters: LogsQueryIn
    data: list[LogLine]


class TopErrorOut(msgspec.Struct, frozen=True, kw_only=True):
    message: str
    count: int


class AnalysisOut(msgspec.Struct, frozen=True, kw_only=True):
    object: str = "incident.analysis"
    incident_id: str
    total: int
    error_count: int
    warning_count: int
    critical_count: int
    by_kind: dict[str, int]
    by_category: dict[str, int]
    top_errors: list[TopErrorOut]

    @classmethod
    def of(cls, incident: Incident, analysis: Analysis) -> AnalysisOut:
        fields = msgspec.structs.asdict(analysis)
        fields["top_errors"] = [TopErrorOut(message=m, count=n) for m, n in analysis.top_errors]
        return cls(incident_id=incident.id, **fields)


class StatsOut(Statistics, frozen=True, kw_only=True):
    object: str = "incident.stats"
    period_days: int


class DashboardOut(msgspec.Struct, frozen=True, kw_only=True):
    object: str = "errors.dashboard"
    summary: PatternSummary
    ongoing_incidents: list[IncidentOut]
    recent_critical: list[PatternView]
    recent_fixable: list[PatternView]


class SuggestionOut(msgspec.Struct, frozen=True, kw_only=True):
    object: str = "error_pattern.fix_suggestion"
    id: str
    pattern_id: str
    model: str
    suggestion: str
    requested_by: str
    created_at: datetime
    gateway_request_id: str | None
    prompt_tokens: int
    completion_tokens: int

    @classmethod
    def of(cls, suggestion: FixSuggestion) -> SuggestionOut:
        fields = msgspec.structs.asdict(suggestion)
        del fields["idempotency_key"]  # the caller's own token, not part of the advice
        return cls(**fields)


class SuggestionListOut(msgspec.Struct, frozen=True, kw_only=True):
    object: str = "list"
    pattern_id: str
    data: list[SuggestionOut]
