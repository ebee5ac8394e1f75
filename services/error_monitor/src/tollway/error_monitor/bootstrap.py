"""The one place that builds error_monitor's concrete objects from opened infrastructure."""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request

from tollway.error_monitor.db.queries import SqlAlchemyMonitorStore
from tollway.error_monitor.db.repositories import SqlAlchemyErrorLog
from tollway.error_monitor.ports import ErrorLog, MonitorStore
from tollway.error_monitor.settings import load
from tollway.platform.infra import Infra

_STORE = "monitor_store"


def error_log(infra: Infra) -> ErrorLog:
    # The worker role hands the subscription factory only the opened infra; the rules come from the same env vars.
    return SqlAlchemyErrorLog(infra.require_engine(), load().incident_rules())


def build_store(app: Litestar) -> None:
    """Startup hook: runs after the platform lifespan has opened ``app.state.infra``."""
    infra: Infra = app.state.infra
    app.state[_STORE] = SqlAlchemyMonitorStore(infra.require_engine())


def provide_store(request: Request[Any, Any, Any]) -> MonitorStore:
    store: MonitorStore = request.app.state[_STORE]
    return store
