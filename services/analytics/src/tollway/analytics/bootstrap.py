"""The one place that builds analytics' concrete objects from opened infrastructure."""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request

from tollway.analytics.db.flags import SqlAlchemyFlags
from tollway.analytics.db.monitoring import SqlAlchemyMonitorReader
from tollway.analytics.db.provider_usage import SqlAlchemyProviderUsage
from tollway.analytics.db.reports import SqlAlchemyUsageReader
from tollway.analytics.db.repositories import SqlAlchemyRequestLog
from tollway.analytics.ports import (
    FlagStore,
    MonitorReader,
    ProviderUsageImporter,
    ProviderUsageStore,
    RequestLog,
    UsageReader,
)
from tollway.analytics.provider_usage_importers import AnthropicUsageImporter, OpenAIUsageImporter
from tollway.analytics.settings import AnalyticsSettings
from tollway.platform.infra import Infra

_READER = "usage_reader"
_MONITOR = "monitor_reader"
_FLAGS = "flag_store"
_PROVIDER_USAGE = "provider_usage"
IMPORTERS = "usage_importers"


def request_log(infra: Infra) -> RequestLog:
    return SqlAlchemyRequestLog(infra.require_engine())


def build_reader(app: Litestar) -> None:
    """Startup hook: runs after the platform lifespan has opened ``app.state.infra``."""
    infra: Infra = app.state.infra
    app.state[_READER] = SqlAlchemyUsageReader(infra.require_engine())
    app.state[_MONITOR] = SqlAlchemyMonitorReader(infra.require_engine())
    app.state[_FLAGS] = SqlAlchemyFlags(infra.require_engine())
    app.state[_PROVIDER_USAGE] = SqlAlchemyProviderUsage(infra.require_engine())


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


class UsageImporters:
    """The providers whose admin key is configured, by name (a class: Litestar checks dependencies' types)."""

    def __init__(self, importers: list[ProviderUsageImporter]) -> None:
        self._by_name = {importer.provider: importer for importer in importers}

    def get(self, provider: str) -> ProviderUsageImporter | None:
        return self._by_name.get(provider)

    def all(self) -> list[ProviderUsageImporter]:
        return list(self._by_name.values())


def usage_importers(settings: AnalyticsSettings) -> UsageImporters:
    importers: list[ProviderUsageImporter] = []
    if settings.anthropic_admin_key:
        importers.append(
            AnthropicUsageImporter(
                settings.anthropic_admin_url, settings.anthropic_admin_key, settings.anthropic_provider_id
            )
        )
    if settings.openai_admin_key:
        importers.append(
            OpenAIUsageImporter(settings.openai_admin_url, settings.openai_admin_key, settings.openai_provider_id)
        )
    return UsageImporters(importers)


def provide_provider_usage(request: Request[Any, Any, Any]) -> ProviderUsageStore:
    store: ProviderUsageStore = request.app.state[_PROVIDER_USAGE]
    return store


def provide_importers(request: Request[Any, Any, Any]) -> UsageImporters:
    importers: UsageImporters = request.app.state[IMPORTERS]
    return importers
