"""``/admin/v1/errors``: recent errors, their patterns and the dashboard (admin only)."""

from __future__ import annotations

from typing import Annotated, Any, cast

from litestar import Controller, Request, get
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency, Provide
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath, QueryParameter

from tollway.error_monitor import handlers
from tollway.error_monitor.api.schemas import (
    DashboardOut,
    ErrorListOut,
    ErrorsQueryIn,
    IncidentOut,
    PatternListOut,
    PatternOut,
    PatternsQueryIn,
    parsed,
)
from tollway.error_monitor.ports import MonitorStore
from tollway.platform.http import admin_identity

Text = Annotated[str | None, QueryParameter(required=False)]
Store = NamedDependency[MonitorStore]


def require_admin(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: a signed admin identity before any parameter is looked at (401/403 beat 422)."""
    admin_identity(cast("Request[Any, Any, Any]", connection))


def errors_query(
    *,
    severity: Annotated[
        str | None, QueryParameter(required=False, description="critical | high | medium | low")
    ] = None,
    fixable: Text = None,
    service: Text = None,
    category: Text = None,
    since: Annotated[str | None, QueryParameter(required=False, description="ISO 8601 time with zone")] = None,
    limit: Text = None,
    before: Annotated[str | None, QueryParameter(required=False, description="next_before of the last page")] = None,
) -> ErrorsQueryIn:
    values = {"severity": severity, "fixable": fixable, "service": service, "category": category, "since": since}
    return parsed(ErrorsQueryIn, values | {"limit": limit, "before": before})


def patterns_query(
    *,
    severity: Text = None,
    fixable: Text = None,
    service: Text = None,
    category: Text = None,
    since: Text = None,
    limit: Text = None,
    sort: Annotated[str | None, QueryParameter(required=False, description="count (default) | severity")] = None,
) -> PatternsQueryIn:
    values = {"severity": severity, "fixable": fixable, "service": service, "category": category, "since": since}
    return parsed(PatternsQueryIn, values | {"limit": limit, "sort": sort})


class ErrorsController(Controller):
    path = "/admin/v1/errors"
    guards = [require_admin]  # noqa: RUF012 - Litestar reads these class attributes

    @get("/", dependencies={"params": Provide(errors_query, sync_to_thread=False)})
    async def list_errors(self, params: NamedDependency[ErrorsQueryIn], store: Store) -> ErrorListOut:
        page = await handlers.list_errors(store, params.filters(), params.before, params.limit)
        return ErrorListOut(data=page.errors, has_more=page.next_before is not None, next_before=page.next_before)

    @get("/patterns", dependencies={"params": Provide(patterns_query, sync_to_thread=False)})
    async def list_patterns(self, params: NamedDependency[PatternsQueryIn], store: Store) -> PatternListOut:
        found = await handlers.list_patterns(store, params.filters(), params.limit, params.sort == "severity")
        return PatternListOut(data=found)

    @get("/patterns/{pattern_id:str}")
    async def get_pattern(self, pattern_id: FromPath[str], store: Store) -> PatternOut:
        pattern, recent = await handlers.get_pattern(store, pattern_id)
        return PatternOut(**{name: getattr(pattern, name) for name in pattern.__struct_fields__}, recent_errors=recent)

    @get("/dashboard")
    async def dashboard(self, store: Store) -> DashboardOut:
        board = await handlers.error_dashboard(store)
        return DashboardOut(
            summary=board.summary,
            ongoing_incidents=[IncidentOut.of(i) for i in board.ongoing],
            recent_critical=board.critical,
            recent_fixable=board.fixable,
        )
