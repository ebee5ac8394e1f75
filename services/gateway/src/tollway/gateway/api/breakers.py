"""``/admin/v1/circuit-breakers``: the router's breaker admin API, forwarded behind the admin key.

The router serves it at ``/internal/v1/circuit-breakers`` to signed admin identities only; the gateway checks the
admin key, signs an admin identity and relays the answer unchanged (a deployment key contains ``/``, so it is a
path parameter that ends the path).
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from litestar import Request, Response, Router, delete, get
from litestar.params import FromPath

from tollway.gateway.api.auth import admin_caller, require_admin
from tollway.gateway.api.errors import EXCEPTION_HANDLERS, error_response
from tollway.gateway.settings import GatewaySettings
from tollway.platform.identity import sign_identity

log = logging.getLogger(__name__)

ROUTER_PATH = "/internal/v1/circuit-breakers"
TIMEOUT = aiohttp.ClientTimeout(total=10)


async def _relay(request: Request[Any, Any, Any], deployment: str | None) -> Response[Any]:
    settings: GatewaySettings = request.app.state.settings
    caller = admin_caller(request)
    url = settings.router_url.rstrip("/") + ROUTER_PATH + ("/" + deployment.lstrip("/") if deployment else "/")
    headers = sign_identity(caller, settings.internal_secret.encode())
    if "traceparent" in request.headers:
        headers["traceparent"] = request.headers["traceparent"]
    http = request.app.state.infra.require_http()
    try:
        async with http.request(request.method, url, headers=headers, timeout=TIMEOUT) as answer:
            body = await answer.read()
    except (aiohttp.ClientError, TimeoutError):
        log.warning("router unreachable for breaker admin", extra={"method": request.method})
        return error_response(503, "inference_router is unavailable, try again shortly", code="service_unavailable")
    return Response(
        body, status_code=answer.status, media_type=answer.content_type, headers={"x-request-id": caller.request_id}
    )


@get("/")
async def list_breakers(request: Request[Any, Any, Any]) -> Response[Any]:
    """Every deployment's breaker state."""
    return await _relay(request, None)


@get("/{deployment:path}")
async def get_breaker(request: Request[Any, Any, Any], deployment: FromPath[str]) -> Response[Any]:
    """One deployment's breaker (``provider/upstream_model``)."""
    return await _relay(request, deployment)


@delete("/", status_code=200)
async def reset_breakers(request: Request[Any, Any, Any]) -> Response[Any]:
    """Close every breaker."""
    return await _relay(request, None)


@delete("/{deployment:path}", status_code=200)
async def reset_breaker(request: Request[Any, Any, Any], deployment: FromPath[str]) -> Response[Any]:
    """Close one breaker: the operator says the deployment is healthy again."""
    return await _relay(request, deployment)


def breaker_router() -> Router:
    """A fresh router per app, behind the same admin guard as the rest of ``/admin/v1``."""
    return Router(
        path="/admin/v1/circuit-breakers",
        route_handlers=[list_breakers, get_breaker, reset_breakers, reset_breaker],
        guards=[require_admin],
        exception_handlers=EXCEPTION_HANDLERS,
        include_in_schema=False,
    )
