"""The gateway HTTP app: platform shell plus the public routes and the admin API."""

from __future__ import annotations

from litestar import Litestar

from tollway.gateway.api.accounts import account_routers
from tollway.gateway.api.admin import admin_router
from tollway.gateway.api.breakers import breaker_router
from tollway.gateway.api.catalog_admin import catalog_admin_router
from tollway.gateway.api.chats import chats_router
from tollway.gateway.api.code_router_routes import code_router_router
from tollway.gateway.api.console import console_router
from tollway.gateway.api.edge import Edge
from tollway.gateway.api.inference_routes import INFERENCE_HOT_ROUTES, inference_routes
from tollway.gateway.api.monitoring_owners import monitoring_admin_router, tokens_per_second
from tollway.gateway.api.native_routes import NATIVE_HOT_PATTERNS
from tollway.gateway.api.owners import user_account, user_redeem
from tollway.gateway.api.public import HOT_ROUTES, public_routes
from tollway.gateway.bootstrap import GatewayRuntime
from tollway.gateway.settings import GatewaySettings
from tollway.platform.http import service_app

SERVICE = "gateway"


def create_app(settings: GatewaySettings) -> Litestar:
    runtime = GatewayRuntime(settings)
    app = service_app(
        SERVICE,
        settings,
        [
            admin_router(),
            *public_routes(),
            *inference_routes(),
            user_account,
            user_redeem,
            breaker_router(),
            catalog_admin_router(),
            code_router_router(),
            monitoring_admin_router(),
            tokens_per_second,
            console_router(),
            chats_router(),
            *account_routers(),
        ],
        redis=True,
        http=True,
        lifespans=[runtime.lifespan],
        hot_routes={**HOT_ROUTES, **INFERENCE_HOT_ROUTES},
        hot_patterns=NATIVE_HOT_PATTERNS,
        internal=False,  # the public edge: callers bring API keys or the admin key, checked by its own guards
    )
    # Outermost, before tracing and metrics see the path: ``/ak/{key}/...`` loses its key here.
    app.asgi_handler = Edge(app.asgi_handler)
    return app
