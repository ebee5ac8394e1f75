"""The one place that builds error_monitor's concrete objects from opened infrastructure."""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request

from tollway.error_monitor.db.queries import SqlAlchemyMonitorStore
from tollway.error_monitor.db.repositories import SqlAlchemyErrorLog
from tollway.error_monitor.db.suggestions import SqlAlchemySuggestions
from tollway.error_monitor.gateway_advisor import TollwayGatewayAdvisor
from tollway.error_monitor.ports import ErrorLog, FixAdvisor, MonitorStore, SuggestionStore
from tollway.error_monitor.settings import ErrorMonitorSettings, load
from tollway.platform.infra import Infra

_STORE = "monitor_store"
_SUGGESTIONS = "suggestion_store"
_ADVISOR = "fix_advisor"


def error_log(infra: Infra) -> ErrorLog:
    # The worker role hands the subscription factory only the opened infra; the rules come from the same env vars.
    return SqlAlchemyErrorLog(infra.require_engine(), load().incident_rules())


def build_store(app: Litestar) -> None:
    """Startup hook: runs after the platform lifespan has opened ``app.state.infra``."""
    infra: Infra = app.state.infra
    app.state[_STORE] = SqlAlchemyMonitorStore(infra.require_engine())
    app.state[_SUGGESTIONS] = SqlAlchemySuggestions(infra.require_engine())
    settings: ErrorMonitorSettings = app.state.settings
    app.state[_ADVISOR] = None
    if settings.suggestions_configured:
        app.state[_ADVISOR] = TollwayGatewayAdvisor(
            infra.require_http(),
            settings.suggest_gateway_url,
            settings.suggest_api_key,
            settings.suggest_model,
            timeout_s=settings.suggest_timeout_s,
            max_tokens=settings.suggest_max_tokens,
        )


def provide_store(request: Request[Any, Any, Any]) -> MonitorStore:
    store: MonitorStore = request.app.state[_STORE]
    return store


def provide_suggestions(request: Request[Any, Any, Any]) -> SuggestionStore:
    suggestions: SuggestionStore = request.app.state[_SUGGESTIONS]
    return suggestions


def provide_advisor(request: Request[Any, Any, Any]) -> FixAdvisor | None:
    """``None`` when no gateway, key or model is configured (the route then answers 503)."""
    advisor: FixAdvisor | None = request.app.state[_ADVISOR]
    return advisor
