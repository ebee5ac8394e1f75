"""The inference_router HTTP app: platform shell, the chat route, the catalogue and the breaker admin API."""

from __future__ import annotations

from litestar import Litestar

from tollway.contracts.internal_api import CHAT_PATH
from tollway.inference_router.api.breakers import CircuitBreakerController
from tollway.inference_router.api.catalog import catalog, catalog_refresh, catalog_status
from tollway.inference_router.api.chat import chat
from tollway.inference_router.api.code_router import CODE_ROUTER_ROUTES
from tollway.inference_router.bootstrap import router_lifespan
from tollway.inference_router.catalog_reload import catalog_lifespan
from tollway.inference_router.settings import InferenceRouterSettings
from tollway.platform.http import service_app

SERVICE = "inference_router"


def create_app(settings: InferenceRouterSettings) -> Litestar:
    return service_app(
        SERVICE,
        settings,
        [catalog, catalog_status, catalog_refresh, CircuitBreakerController, *CODE_ROUTER_ROUTES],
        redis=True,
        http=True,
        lifespans=[router_lifespan, catalog_lifespan],
        hot_routes={CHAT_PATH: chat},
    )
