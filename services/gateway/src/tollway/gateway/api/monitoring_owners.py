"""Monitoring routes owned by analytics and error_monitor: authenticated here, forwarded with a signed identity.

Operators' routes (request monitor, models table, tracking quality, errors, incidents) need the admin key; the
tokens-per-second figures need any valid key. The owner's answer is relayed unchanged.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from litestar import Request, Response, Router, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath

from tollway.gateway.api.auth import admin_caller, provide_identity, require_admin
from tollway.gateway.api.errors import EXCEPTION_HANDLERS, error_response
from tollway.gateway.domain.identity import Identity
from tollway.gateway.domain.ids import new_request_id
from tollway.gateway.settings import GatewaySettings
from tollway.platform.identity import Identity as CallerIdentity
from tollway.platform.identity import sign_identity

log = logging.getLogger(__name__)

PASSED_HEADERS = ("content-type", "accept", "idempotency-key", "traceparent")
TIMEOUT = aiohttp.ClientTimeout(total=30)


def _base_url(settings: GatewaySettings, owner: str) -> str:
    return settings.error_monitor_url if owner == "error_monitor" else settings.analytics_url


async def relay(request: Request[Any, Any, Any], owner: str, caller: CallerIdentity) -> Response[Any]:
    """The owner's answer, status and body unchanged; 503 (OpenAI-shaped) when the owner cannot be reached."""
    settings: GatewaySettings = request.app.state.settings
    query = f"?{request.url.query}" if request.url.query else ""
    url = _base_url(settings, owner).rstrip("/") + request.url.path + query
    headers = {name: request.headers[name] for name in PASSED_HEADERS if name in request.headers}
    headers.update(sign_identity(caller, settings.internal_secret.encode()))
    http = request.app.state.infra.require_http()
    try:
        async with http.request(
            request.method, url, data=await request.body(), headers=headers, timeout=TIMEOUT
        ) as answer:
            body = await answer.read()
            media_type = answer.headers.get("content-type", answer.content_type)
    except (aiohttp.ClientError, TimeoutError):
        log.warning("owner unreachable", extra={"owner": owner, "path": request.url.path})
        return error_response(503, f"{owner} is unavailable, try again shortly", code="service_unavailable")
    return Response(body, status_code=answer.status, media_type=media_type, headers={"x-request-id": caller.request_id})


@get(
    [
        "/requests",
        "/requests/summary",
        "/requests/series",
        "/requests/by-provider",
        "/requests/by-model",
        "/models/usage",
        "/monitor",
        "/tracking/quality",
        "/tracking/trend",
        "/flags",
        "/reconciliation",
    ]
)
async def analytics_admin(request: Request[Any, Any, Any]) -> Response[Any]:
    """The request monitor, models table, snapshot and tracking quality, answered by analytics."""
    return await relay(request, "analytics", admin_caller(request))


@put("/flags/{name:str}")
async def set_flag(request: Request[Any, Any, Any], name: FromPath[str]) -> Response[Any]:
    """Feature flags live in analytics, which validates the name and body."""
    return await relay(request, "analytics", admin_caller(request))


@post("/provider-usage/import", status_code=200)
async def import_provider_usage(request: Request[Any, Any, Any]) -> Response[Any]:
    """Provider usage imports run in analytics, which holds the providers' admin keys."""
    return await relay(request, "analytics", admin_caller(request))


@get(["/errors", "/errors/patterns", "/errors/dashboard", "/incidents", "/incidents/ongoing", "/incidents/stats"])
async def error_monitor_lists(request: Request[Any, Any, Any]) -> Response[Any]:
    """Errors, patterns and incidents, answered by error_monitor."""
    return await relay(request, "error_monitor", admin_caller(request))


@get(["/errors/patterns/{pattern_id:str}", "/errors/patterns/{pattern_id:str}/suggestions"])
async def error_pattern(request: Request[Any, Any, Any], pattern_id: FromPath[str]) -> Response[Any]:
    return await relay(request, "error_monitor", admin_caller(request))


@post("/errors/patterns/{pattern_id:str}/suggest-fix", status_code=201)
async def suggest_fix(request: Request[Any, Any, Any], pattern_id: FromPath[str]) -> Response[Any]:
    """error_monitor asks its configured model (through this gateway, with its own key) and keeps the advice."""
    return await relay(request, "error_monitor", admin_caller(request))


@get(["/incidents/{incident_id:str}", "/incidents/{incident_id:str}/logs", "/incidents/{incident_id:str}/analysis"])
async def incident(request: Request[Any, Any, Any], incident_id: FromPath[str]) -> Response[Any]:
    return await relay(request, "error_monitor", admin_caller(request))


@post("/incidents/{incident_id:str}/resolve", status_code=200)
async def resolve_incident(request: Request[Any, Any, Any], incident_id: FromPath[str]) -> Response[Any]:
    """error_monitor validates and decides; the admin guard ran on the router."""
    return await relay(request, "error_monitor", admin_caller(request))


@get("/v1/metrics/tokens-per-second", dependencies={"identity": Provide(provide_identity)})
async def tokens_per_second(request: Request[Any, Any, Any], identity: NamedDependency[Identity]) -> Response[Any]:
    """Generation speed per model and provider, for any valid key (JSON, or Prometheus text on ``Accept``)."""
    caller = CallerIdentity(
        request_id=new_request_id(), role="user", user_id=identity.user_id, api_key_id=identity.api_key_id
    )
    return await relay(request, "analytics", caller)


def monitoring_admin_router() -> Router:
    """A fresh router per app, behind the same admin guard as the rest of ``/admin/v1``."""
    return Router(
        path="/admin/v1",
        route_handlers=[
            analytics_admin,
            set_flag,
            import_provider_usage,
            error_monitor_lists,
            error_pattern,
            suggest_fix,
            incident,
            resolve_incident,
        ],
        guards=[require_admin],
        exception_handlers=EXCEPTION_HANDLERS,
        include_in_schema=False,
    )
