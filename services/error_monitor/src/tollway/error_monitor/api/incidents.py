"""``/admin/v1/incidents``: incidents opened from provider health and error spikes, their logs, and resolving them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from litestar import Controller, Router, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter

from tollway.error_monitor import handlers
from tollway.error_monitor.api.error_responses import EXCEPTION_HANDLERS
from tollway.error_monitor.api.errors import ErrorsController, Store, Text, require_admin
from tollway.error_monitor.api.schemas import (
    AnalysisOut,
    IncidentListOut,
    IncidentOut,
    IncidentsQueryIn,
    LogsOut,
    LogsQueryIn,
    ResolveIn,
    StatsOut,
    StatsQueryIn,
    parsed,
)
from tollway.error_monitor.api.suggestions import SuggestionsController
from tollway.error_monitor.bootstrap import provide_advisor, provide_store, provide_suggestions


def incidents_query(
    *,
    status: Annotated[str | None, QueryParameter(required=False, description="ongoing | resolved")] = None,
    severity: Text = None,
    kind: Annotated[str | None, QueryParameter(required=False, description="provider_health | error_spike")] = None,
    provider: Text = None,
    limit: Text = None,
) -> IncidentsQueryIn:
    values = {"status": status, "severity": severity, "kind": kind, "provider": provider, "limit": limit}
    return parsed(IncidentsQueryIn, values)


def logs_query(*, level: Text = None, service: Text = None, search: Text = None, limit: Text = None) -> LogsQueryIn:
    return parsed(LogsQueryIn, {"level": level, "service": service, "search": search, "limit": limit})


def stats_query(*, days: Text = None) -> StatsQueryIn:
    return parsed(StatsQueryIn, {"days": days})


def _now() -> datetime:
    return datetime.now(UTC)


async def _listed(store: Store, params: IncidentsQueryIn) -> IncidentListOut:
    found, counts = await handlers.list_incidents(store, params.filters(), params.limit)
    now = _now()
    return IncidentListOut(
        total_incidents=sum(counts.values()),
        ongoing=counts.get("ongoing", 0),
        resolved=counts.get("resolved", 0),
        data=[IncidentOut.of(i, now) for i in found],
    )


class IncidentsController(Controller):
    path = "/admin/v1/incidents"
    guards = [require_admin]  # noqa: RUF012 - Litestar reads these class attributes

    @get("/", dependencies={"params": Provide(incidents_query, sync_to_thread=False)})
    async def list_incidents(self, params: NamedDependency[IncidentsQueryIn], store: Store) -> IncidentListOut:
        return await _listed(store, params)

    @get("/ongoing")
    async def ongoing(self, store: Store) -> IncidentListOut:
        return await _listed(store, IncidentsQueryIn(status="ongoing", limit=500))

    @get("/stats", dependencies={"params": Provide(stats_query, sync_to_thread=False)})
    async def stats(self, params: NamedDependency[StatsQueryIn], store: Store) -> StatsOut:
        now = _now()
        found = await handlers.incident_statistics(store, params.since(now), now)
        return StatsOut(period_days=params.days, **{name: getattr(found, name) for name in found.__struct_fields__})

    @get("/{incident_id:str}")
    async def get_incident(self, incident_id: FromPath[str], store: Store) -> IncidentOut:
        return IncidentOut.of(await handlers.get_incident(store, incident_id))

    @get("/{incident_id:str}/logs", dependencies={"params": Provide(logs_query, sync_to_thread=False)})
    async def logs(self, incident_id: FromPath[str], params: NamedDependency[LogsQueryIn], store: Store) -> LogsOut:
        incident, lines = await handlers.incident_logs(
            store, incident_id, params.filters(), params.search, params.limit
        )
        return LogsOut(incident_id=incident.id, total_logs=len(lines), filters=params, data=lines)

    @get("/{incident_id:str}/analysis")
    async def analysis(self, incident_id: FromPath[str], store: Store) -> AnalysisOut:
        return AnalysisOut.of(*await handlers.incident_analysis(store, incident_id))

    @post("/{incident_id:str}/resolve", status_code=200)
    async def resolve(
        self, incident_id: FromPath[str], store: Store, data: JSONBody[ResolveIn | None] = None
    ) -> IncidentOut:
        given = data or ResolveIn()
        return IncidentOut.of(await handlers.resolve_incident(store, incident_id, given.who(), given.notes, _now()))


def monitor_router() -> Router:
    """A fresh router per app (routers are bound to the app that registers them)."""
    return Router(
        path="/",
        route_handlers=[ErrorsController, IncidentsController, SuggestionsController],
        dependencies={
            "store": Provide(provide_store, sync_to_thread=False),
            "suggestions": Provide(provide_suggestions, sync_to_thread=False),
            "advisor": Provide(provide_advisor, sync_to_thread=False),
        },
        exception_handlers=EXCEPTION_HANDLERS,
    )
