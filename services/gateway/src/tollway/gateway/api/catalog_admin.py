"""``GET /admin/v1/catalog/status`` and ``POST /admin/v1/catalog/refresh``: forwarded to the inference_router.

The refresh reloads the catalogue on every router replica; the gateway's own model cache follows at its next
refresh of ``/internal/v1/catalog``.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from litestar import Request, Response, Router, get, post

from tollway.contracts.internal_api import CATALOG_PATH
from tollway.gateway.api.auth import admin_caller, require_admin
from tollway.gateway.api.errors import EXCEPTION_HANDLERS, error_response
from tollway.gateway.settings import GatewaySettings
from tollway.platform.identity import sign_identity

log = logging.getLogger(__name__)
TIMEOUT = aiohttp.ClientTimeout(total=30)


async def _relay(request: Request[Any, Any, Any], operation: str) -> Response[Any]:
    settings: GatewaySettings = request.app.state.settings
    caller = admin_caller(request)
    headers = sign_identity(caller, settings.internal_secret.encode())
    url = f"{settings.router_url.rstrip('/')}{CATALOG_PATH}/{operation}"
    http = request.app.state.infra.require_http()
    try:
        async with http.request(request.method, url, headers=headers, timeout=TIMEOUT) as answer:
            body = await answer.read()
    except (aiohttp.ClientError, TimeoutError):
        log.warning("router unreachable for catalogue admin", extra={"operation": operation})
        return error_response(503, "inference_router is unavailable, try again shortly", code="service_unavailable")
    return Response(
        body, status_code=answer.status, media_type=answer.content_type, headers={"x-request-id": caller.request_id}
    )


@get("/status")
async def catalog_status(request: Request[Any, Any, Any]) -> Response[Any]:
    """The catalogue a router replica serves: digest, generation, load time, last error, models and strategies."""
    return await _relay(request, "status")


@post("/refresh", status_code=200)
async def catalog_refresh(request: Request[Any, Any, Any]) -> Response[Any]:
    """Reload the catalogue file on every router replica (422 naming the bad entry, and no change, if it is bad)."""
    return await _relay(request, "refresh")


def catalog_admin_router() -> Router:
    """A fresh router per app, behind the same admin guard as the rest of ``/admin/v1``."""
    return Router(
        path="/admin/v1/catalog",
        route_handlers=[catalog_status, catalog_refresh],
        guards=[require_admin],
        exception_handlers=EXCEPTION_HANDLERS,
        include_in_schema=False,
    )
