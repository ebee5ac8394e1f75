"""ErrorMonitor settings, loaded once per process from ``ERROR_MONITOR_*`` environment variables."""

from __future__ import annotations

from tollway.platform.settings import InfraSettings, load_settings

ENV_PREFIX = "ERROR_MONITOR_"


class ErrorMonitorSettings(InfraSettings, frozen=True, kw_only=True):
    port: int = 8084


def load() -> ErrorMonitorSettings:
    return load_settings(ErrorMonitorSettings, ENV_PREFIX)
