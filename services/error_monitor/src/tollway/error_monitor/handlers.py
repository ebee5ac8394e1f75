"""Use cases of error_monitor: record errors and provider outcomes once; read errors, patterns and incidents."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import msgspec

from tollway.contracts import ErrorReportedV1, RequestCompletedV1, RequestFailedV1
from tollway.error_monitor.domain.incidents import (
    Analysis,
    Attempt,
    Incident,
    LogLine,
    analysed,
    attempts_of_completed,
    attempts_of_failed,
)
from tollway.error_monitor.domain.records import from_failed_request, from_report
from tollway.error_monitor.domain.suggestions import (
    RECENT_OCCURRENCES,
    FixSuggestion,
    SuggestionsNotConfiguredError,
    fix_prompt,
    new_suggestion_id,
    replayed,
)
from tollway.error_monitor.domain.views import (
    MAX_LIMIT,
    TOP,
    AlreadyResolvedError,
    ErrorFilters,
    ErrorView,
    IncidentFilters,
    NotFoundError,
    PatternSummary,
    PatternView,
    Statistics,
    by_severity_then_count,
    statistics,
)
from tollway.error_monitor.ports import ErrorLog, FixAdvisor, MonitorStore, SuggestionStore

LOGS_ANALYSED = 10_000


class ErrorPage(msgspec.Struct, frozen=True):
    errors: list[ErrorView]
    next_before: int | None


class Dashboard(msgspec.Struct, frozen=True, kw_only=True):
    summary: PatternSummary
    critical: list[PatternView]
    fixable: list[PatternView]
    ongoing: list[Incident]


async def record_error_reports(reports: Sequence[ErrorReportedV1], log: ErrorLog, consumer: str) -> int:
    """Store each reported error once, however often it is delivered, and count it into its pattern."""
    return await log.add_once(consumer, [from_report(r) for r in reports])


async def record_failed_requests(failures: Sequence[RequestFailedV1], log: ErrorLog, consumer: str) -> int:
    """Store each failed request once as an error of inference_router; each attempt counts against its provider."""
    attempts = [(f.event_id, a) for f in failures for a in attempts_of_failed(f.occurred_at, f.attempts)]
    return await log.add_once(consumer, [from_failed_request(f) for f in failures], attempts)


async def record_completed_requests(served: Sequence[RequestCompletedV1], log: ErrorLog, consumer: str) -> int:
    """A served request is a success of its provider (and a failure of each deployment tried before it)."""
    attempts: list[tuple[str, Attempt]] = [
        (c.event_id, a)
        for c in served
        for a in attempts_of_completed(c.occurred_at, c.provider, c.latency_ms, c.failed_attempts)
    ]
    await log.add_once(consumer, [], attempts)
    return len(served)


async def list_errors(store: MonitorStore, filters: ErrorFilters, before_id: int | None, limit: int) -> ErrorPage:
    """A page of errors, newest first; ``next_before`` only when more exist."""
    rows = await store.errors(filters, before_id, limit + 1)
    return ErrorPage(errors=rows[:limit], next_before=rows[limit - 1].id if len(rows) > limit else None)


async def list_patterns(store: MonitorStore, filters: ErrorFilters, limit: int, by_severity: bool) -> list[PatternView]:
    found = await store.patterns(filters, MAX_LIMIT if by_severity else limit)
    return by_severity_then_count(found)[:limit] if by_severity else found


async def get_pattern(store: MonitorStore, pattern_id: str) -> tuple[PatternView, list[ErrorView]]:
    """A pattern and its latest ten errors."""
    pattern = await store.pattern(pattern_id)
    if pattern is None:
        raise NotFoundError(f"no error pattern {pattern_id}")
    return pattern, await store.errors(ErrorFilters(pattern_id=pattern_id), None, TOP)


async def error_dashboard(store: MonitorStore) -> Dashboard:
    """Summary, the ten worst and ten fixable patterns, and what is ongoing."""
    critical = await store.patterns(ErrorFilters(severity="critical"), TOP)
    high = await store.patterns(ErrorFilters(severity="high"), TOP)
    fixable = await store.patterns(ErrorFilters(fixable=True), MAX_LIMIT)
    ongoing = await store.incidents(IncidentFilters(status="ongoing"), MAX_LIMIT)
    return Dashboard(
        summary=await store.pattern_summary(),
        critical=(critical + high)[:TOP],
        fixable=by_severity_then_count(fixable)[:TOP],
        ongoing=ongoing,
    )


async def list_incidents(
    store: MonitorStore, filters: IncidentFilters, limit: int
) -> tuple[list[Incident], dict[str, int]]:
    return await store.incidents(filters, limit), await store.incident_counts()


async def get_incident(store: MonitorStore, incident_id: str) -> Incident:
    incident = await store.incident(incident_id)
    if incident is None:
        raise NotFoundError(f"no incident {incident_id}")
    return incident


async def incident_logs(
    store: MonitorStore, incident_id: str, filters: ErrorFilters, search: str | None, limit: int
) -> tuple[Incident, list[LogLine]]:
    incident = await get_incident(store, incident_id)
    return incident, await store.logs(incident, filters, search, limit)


async def incident_analysis(store: MonitorStore, incident_id: str) -> tuple[Incident, Analysis]:
    incident = await get_incident(store, incident_id)
    return incident, analysed(await store.logs(incident, ErrorFilters(), None, LOGS_ANALYSED))


async def incident_statistics(store: MonitorStore, since: datetime, now: datetime) -> Statistics:
    return statistics(await store.incidents_since(since), now)


async def resolve_incident(
    store: MonitorStore, incident_id: str, resolved_by: str, notes: str | None, now: datetime
) -> Incident:
    """Close an ongoing incident once; resolving it again is a conflict, an unknown one not found."""
    resolved = await store.resolve(incident_id, resolved_by, notes, now)
    if resolved is not None:
        return resolved
    await get_incident(store, incident_id)  # raises when unknown
    raise AlreadyResolvedError(f"incident {incident_id} is already resolved")


async def suggest_fix(
    store: MonitorStore,
    suggestions: SuggestionStore,
    advisor: FixAdvisor | None,
    *,
    pattern_id: str,
    requested_by: str,
    idempotency_key: str | None,
    now: datetime,
) -> tuple[FixSuggestion, bool]:
    """Ask the configured model about a pattern and keep its advice; ``True`` when it is a replay under the key.

    A key seen before returns what was stored under it without asking again.
    """
    if advisor is None:
        raise SuggestionsNotConfiguredError
    if idempotency_key is not None and (stored := await suggestions.by_key(idempotency_key)) is not None:
        return replayed(stored, pattern_id), True
    pattern = await store.pattern(pattern_id)
    if pattern is None:
        raise NotFoundError(f"no error pattern {pattern_id}")
    recent = await store.errors(ErrorFilters(pattern_id=pattern_id), None, RECENT_OCCURRENCES)
    advice = await advisor.advise(fix_prompt(pattern, recent))
    asked = FixSuggestion(
        id=new_suggestion_id(),
        pattern_id=pattern_id,
        model=advice.model,
        suggestion=advice.text,
        requested_by=requested_by,
        created_at=now,
        idempotency_key=idempotency_key,
        gateway_request_id=advice.gateway_request_id,
        prompt_tokens=advice.prompt_tokens,
        completion_tokens=advice.completion_tokens,
    )
    kept = await suggestions.add(asked)
    return (kept, False) if kept.id == asked.id else (replayed(kept, pattern_id), True)


async def list_suggestions(store: MonitorStore, suggestions: SuggestionStore, pattern_id: str) -> list[FixSuggestion]:
    """A known pattern's suggestions, newest first."""
    if await store.pattern(pattern_id) is None:
        raise NotFoundError(f"no error pattern {pattern_id}")
    return await suggestions.for_pattern(pattern_id, MAX_LIMIT)
