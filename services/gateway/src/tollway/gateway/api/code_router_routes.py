"""``/v1/router/code/*``: the code router's options, tiers, stats, dry run and settings check, from the router.

Public like the seed system's (no key needed: they describe the router and call no model); the gateway signs an
anonymous identity and relays the router's answer unchanged.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from litestar import Request, Response, Router, get, post

from tollway.gateway.api.errors import EXCEPTION_HANDLERS, error_response
from tollway.gateway.domain.ids import new_request_id
from tollway.gateway.settings import GatewaySettings
from tollway.platform.identity import Identity, sign_identity

log = logging.getLogger(__name__)
ROUTER_PATH = "/internal/v1/router/code"
TIMEOUT = aiohttp.ClientTimeout(total=10)
MAX_BODY = 1024 * 1024


async def _relay(request: Request[Any, Any, Any], operation: str) -> Response[Any]:
    settings: GatewaySettings = request.app.state.settings
    caller = Identity(request_id=new_request_id(), role="anonymous", is_anonymous=True)
    headers = sign_identity(caller, settings.internal_secret.encode())
    headers["content-type"] = "application/json"
    body = await request.body() if request.method == "POST" else None
    if body is not None and len(body) > MAX_BODY:
        return error_response(413, "the request body is too large", code="request_too_large")
    http = request.app.state.infra.require_http()
    url = f"{settings.router_url.rstrip('/')}{ROUTER_PATH}/{operation}"
    try:
        async with http.request(request.method, url, data=body, headers=headers, timeout=TIMEOUT) as answer:
            payload = await answer.read()
    except (aiohttp.ClientError, TimeoutError):
        log.warning("router unreachable for the code router", extra={"operation": operation})
        return error_response(503, "inference_router is unavailable, try again shortly", code="service_unavailable")
    return Response(
        payload, status_code=answer.status, media_type=answer.content_type, headers={"x-request-id": caller.request_id}
    )


@get("/options")
async def options(request: Request[Any, Any, Any]) -> Response[Any]:
    """The model ids (``router:code[:mode]``), modes, features and thresholds."""
    return await _relay(request, "options")


@get("/tiers")
async def tiers(request: Request[Any, Any, Any]) -> Response[Any]:
    """The model and prices of each tier 1-4, and the fallback."""
    return await _relay(request, "tiers")


@get("/stats")
async def stats(request: Request[Any, Any, Any]) -> Response[Any]:
    """Tiers and models configured, and one router replica's picks by mode and tier."""
    return await _relay(request, "stats")


@post("/test", status_code=200)
async def classify_prompt(request: Request[Any, Any, Any]) -> Response[Any]:
    """Classify an OpenAI chat body: the tier, model, features, score and saving the router would pick."""
    return await _relay(request, "test")


@post("/validate", status_code=200)
async def validate(request: Request[Any, Any, Any]) -> Response[Any]:
    """``{mode}`` or ``{manual_model}`` → the model string to send (422 naming a bad mode or unknown model)."""
    return await _relay(request, "validate")


def code_router_router() -> Router:
    return Router(
        path="/v1/router/code",
        route_handlers=[options, tiers, stats, classify_prompt, validate],
        exception_handlers=EXCEPTION_HANDLERS,
    )
