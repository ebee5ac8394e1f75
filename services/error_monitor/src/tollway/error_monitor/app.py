"""The error_monitor HTTP app: platform shell plus this service's controllers."""

from __future__ import annotations

from litestar import Litestar

from tollway.error_monitor.settings import ErrorMonitorSettings
from tollway.platform.http import service_app

SERVICE = "error_monitor"


def create_app(settings: ErrorMonitorSettings) -> Litestar:
    return service_app(SERVICE, settings, [], redis=False)
