"""What error_monitor's use cases need from the outside world."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from tollway.error_monitor.domain.incidents import Attempt, Incident, LogLine
from tollway.error_monitor.domain.records import ErrorRecord
from tollway.error_monitor.domain.suggestions import Advice, ChatMessage, FixSuggestion
from tollway.error_monitor.domain.views import ErrorFilters, ErrorView, IncidentFilters, PatternSummary, PatternView


class ErrorLog(Protocol):
    async def add_once(
        self, consumer: str, records: Sequence[ErrorRecord], attempts: Sequence[tuple[str, Attempt]] = ()
    ) -> int:
        """Apply the records and provider attempts of events not seen before by ``consumer`` (inbox).

        One transaction with the patterns they count into and the incidents they open or close; returns how many
        records were new.
        """
        ...


@runtime_checkable
class MonitorStore(Protocol):
    async def errors(self, filters: ErrorFilters, before_id: int | None, limit: int) -> list[ErrorView]:
        """Errors newest first (by id), strictly older than ``before_id``."""
        ...

    async def patterns(self, filters: ErrorFilters, limit: int) -> list[PatternView]:
        """Patterns by count (highest first)."""
        ...

    async def pattern(self, pattern_id: str) -> PatternView | None: ...

    async def pattern_summary(self) -> PatternSummary:
        """How many patterns there are by severity and fixability, and errors per category."""
        ...

    async def incidents(self, filters: IncidentFilters, limit: int) -> list[Incident]:
        """Incidents newest first."""
        ...

    async def incident_counts(self) -> dict[str, int]:
        """Incidents per status."""
        ...

    async def incidents_since(self, since: datetime) -> list[Incident]: ...

    async def incident(self, incident_id: str) -> Incident | None: ...

    async def logs(self, incident: Incident, filters: ErrorFilters, search: str | None, limit: int) -> list[LogLine]:
        """The errors captured around an incident (5 minutes before it until it ended), oldest first."""
        ...

    async def resolve(self, incident_id: str, resolved_by: str, notes: str | None, at: datetime) -> Incident | None:
        """Resolve an ongoing incident with its event in the outbox; ``None`` when it was not ongoing."""
        ...


@runtime_checkable
class FixAdvisor(Protocol):
    async def advise(self, messages: Sequence[ChatMessage]) -> Advice:
        """The model's answer; ``AdvisorError`` when the gateway is unreachable, too slow or refuses."""
        ...


@runtime_checkable
class SuggestionStore(Protocol):
    async def by_key(self, idempotency_key: str) -> FixSuggestion | None: ...

    async def add(self, suggestion: FixSuggestion) -> FixSuggestion:
        """Store it; when its Idempotency-Key is taken already (a concurrent twin), the one stored first."""
        ...

    async def for_pattern(self, pattern_id: str, limit: int) -> list[FixSuggestion]:
        """Newest first."""
        ...
