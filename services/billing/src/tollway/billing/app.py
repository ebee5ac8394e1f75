"""The billing HTTP app: platform shell plus this service's controllers."""

from __future__ import annotations

from litestar import Litestar

from tollway.billing.api.admin import admin_router
from tollway.billing.api.credits import credits_router
from tollway.billing.bootstrap import on_startup
from tollway.billing.settings import BillingSettings
from tollway.platform.http import service_app

SERVICE = "billing"


def create_app(settings: BillingSettings) -> Litestar:
    app = service_app(SERVICE, settings, [credits_router(), admin_router()], redis=False)
    # Startup hooks run after the platform lifespan has opened ``app.state.infra``.
    app.on_startup.append(on_startup(settings))
    return app
