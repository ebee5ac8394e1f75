"""The error_monitor HTTP app: platform shell plus this service's controllers."""

from __future__ import annotations

from litestar import Litestar

from tollway.error_monitor.api.incidents import monitor_router
from tollway.error_monitor.bootstrap import build_store
from tollway.error_monitor.settings import ErrorMonitorSettings
from tollway.platform.http import service_app

SERVICE = "error_monitor"


def create_app(settings: ErrorMonitorSettings) -> Litestar:
    app = service_app(SERVICE, settings, [monitor_router()], redis=False, http=True)
    app.on_startup.append(build_store)
    return app
