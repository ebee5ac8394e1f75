"""The analytics HTTP app: platform shell plus this service's controllers."""

from __future__ import annotations

from litestar import Litestar

from tollway.analytics.api.flags import flags_router
from tollway.analytics.api.monitoring import monitoring_router
from tollway.analytics.api.provider_usage import provider_usage_router
from tollway.analytics.api.tracking_metrics import tracking_metrics
from tollway.analytics.api.usage import usage_router
from tollway.analytics.bootstrap import IMPORTERS, build_reader, usage_importers
from tollway.analytics.settings import AnalyticsSettings
from tollway.platform.http import service_app

SERVICE = "analytics"


def create_app(settings: AnalyticsSettings) -> Litestar:
    app = service_app(
        SERVICE,
        settings,
        [usage_router(), monitoring_router(), flags_router(), provider_usage_router()],
        lifespans=[tracking_metrics],
    )
    app.on_startup.append(build_reader)
    app.state[IMPORTERS] = usage_importers(settings)
    return app
