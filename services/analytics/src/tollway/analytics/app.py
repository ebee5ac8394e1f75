"""The analytics HTTP app: platform shell plus this service's controllers."""

from __future__ import annotations

from litestar import Litestar

from tollway.analytics.api.usage import usage_router
from tollway.analytics.bootstrap import build_reader
from tollway.analytics.settings import AnalyticsSettings
from tollway.platform.http import service_app

SERVICE = "analytics"


def create_app(settings: AnalyticsSettings) -> Litestar:
    app = service_app(SERVICE, settings, [usage_router()])
    app.on_startup.append(build_reader)
    return app
