"""The one place that builds analytics' concrete objects from opened infrastructure."""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request

from tollway.analytics.db.flags import SqlAlchemyFlags
from tollway.analytics.db.monitoring import SqlAlchemyMonitorReader
from tollway.analytics.db.reports import SqlAlchemyUsageReader
from tollway.analytics.db.repositories import SqlAlchemyRequestLog
from tollway.analytics.ports import FlagStore, MonitorReader, RequestLog, UsageReader
from tollway.platform.infra import Infra

_READER = "usage_reader"
_MONITOR = "monitor_reader"
_FLAGS = "flag_store"


def request_log(infra: Infra) -> RequestLog:
    return SqlAlchemyRequestLog(infra.require_engine())


def build_reader(app: Litestar) -> None:
    """Startup hook: runs after the platform lifespan has opened ``app.state.infra``."""
    infra: Infra = app.state.infra
    app.state[_READER] = SqlAlchemyUsageReader(infra.require_engine())
    app.state[_MONITOR] = SqlAlchemyMonitorReader(infra.require_engine())
    app.state[_FLAGS] = SqlAlchemyFlags(infra.require_engine())


def provide_reader(request: Request[Any, Any, Any]) -> UsageReader:
    reader: UsageReader = request.app.state[_READER]
    return reader


def provide_monitor(request: Request[Any, Any, Any]) -> MonitorReader:
    monitor: MonitorReader = request.app.state[_MONITOR]
    return monitor


def monitor_reader(infra: Infra) -> MonitorReader:
    return SqlAlchemyMonitorReader(infra.require_engine())


def provide_flags(request: Request[Any, Any, Any]) -> FlagStore:
    flags: FlagStore = request.app.state[_FLAGS]
    return flags
