"""Account routes owned by billing and analytics: authenticated here, forwarded with a signed identity."""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
from litestar import Request, Response, get, post, route
from litestar.di import NamedDependency, Provide

from tollway.gateway.api.accounts_auth import ACCOUNT_EXCEPTION_HANDLERS, provide_principal
from tollway.gateway.api.auth import admin_caller
from tollway.gateway.api.errors import error_response
from tollway.gateway.domain.accounts import Principal
from tollway.gateway.domain.ids import new_request_id
from tollway.gateway.settings import GatewaySettings
from tollway.platform.identity import Identity as CallerIdentity
from tollway.platform.identity import sign_identity

log = logging.getLogger(__name__)

# Which service owns a path; the gateway adds who is calling and passes everything else through unchanged.
OWNER_OF = (
    ("/v1/credits", "billing"),
    ("/v1/coupons", "billing"),
    ("/v1/usage", "analytics"),
    ("/admin/v1/accounts", "billing"),
    ("/admin/v1/billing", "billing"),
    ("/admin/v1/transactions", "billing"),
    ("/admin/v1/coupons", "billing"),
    ("/admin/v1/credits", "billing"),
    ("/admin/v1/grants", "billing"),
    ("/admin/v1/trials", "billing"),
    ("/admin/v1/usage", "analytics"),
)
PASSED_HEADERS = ("content-type", "idempotency-key", "traceparent")
OWNER_TIMEOUT = aiohttp.ClientTimeout(total=30)


async def forward(request: Request[Any, Any, Any], caller: CallerIdentity) -> Response[Any]:
    """The owner's answer, status and body unchanged; 503 (OpenAI-shaped) when the owner cannot be reached."""
    settings: GatewaySettings = request.app.state.settings
    owner = next(service for prefix, service in OWNER_OF if request.url.path.startswith(prefix))
    base = settings.billing_url if owner == "billing" else settings.analytics_url
    url = base.rstrip("/") + request.url.path + (f"?{request.url.query}" if request.url.query else "")
    headers = {name: request.headers[name] for name in PASSED_HEADERS if name in request.headers}
    headers.update(sign_identity(caller, settings.internal_secret.encode()))
    http = request.app.state.infra.require_http()
    try:
        async with http.request(
            request.method, url, data=await request.body(), headers=headers, timeout=OWNER_TIMEOUT
        ) as answer:
            body = await answer.read()
    except (aiohttp.ClientError, TimeoutError):
        log.warning("owner unreachable", extra={"owner": owner, "path": request.url.path})
        return error_response(503, f"{owner} is unavailable, try again shortly", code="service_unavailable")
    return Response(
        body, status_code=answer.status, media_type=answer.content_type, headers={"x-request-id": caller.request_id}
    )


def _user(caller: Principal) -> CallerIdentity:
    return CallerIdentity(
        request_id=new_request_id(),
        role="user",
        user_id=caller.user_id,
        account_id=caller.user_id,
        api_key_id=caller.api_key_id,
    )


@get(
    [
        "/v1/credits/balance",
        "/v1/credits/transactions",
        "/v1/credits/summary",
        "/v1/coupons/available",
        "/v1/coupons/history",
        "/v1/usage",
        "/v1/usage/requests",
    ],
    dependencies={"caller": Provide(provide_principal)},
    exception_handlers=ACCOUNT_EXCEPTION_HANDLERS,
)
async def user_account(request: Request[Any, Any, Any], caller: NamedDependency[Principal]) -> Response[bytes]:
    """The caller's own credit and usage, answered by their owners (a session, or a key with the `read` scope)."""
    caller.require("read")
    return await forward(request, _user(caller))


@post(
    "/v1/coupons/redeem",
    status_code=201,
    dependencies={"caller": Provide(provide_principal)},
    exception_handlers=ACCOUNT_EXCEPTION_HANDLERS,
)
async def user_redeem(request: Request[Any, Any, Any], caller: NamedDependency[Principal]) -> Response[bytes]:
    """Redeeming a coupon changes the account: a session, or a key with the `account` scope."""
    caller.require("account")
    return await forward(request, _user(caller))


@post(
    [
        "/accounts/{user_id:str}/grants",
        "/accounts/{user_id:str}/adjustments",
        "/transactions/{transaction_id:str}/refund",
    ],
    status_code=201,
)
async def admin_credit(request: Request[Any, Any, Any]) -> Response[Any]:
    """Grants, adjustments and refunds: billing validates and decides; the admin guard ran on the router."""
    return await forward(request, admin_caller(request))


@get("/usage")
async def admin_usage(request: Request[Any, Any, Any]) -> Response[Any]:
    """Usage across users, answered by analytics."""
    return await forward(request, admin_caller(request))


@route(
    [
        "/coupons",
        "/coupons/stats",
        "/coupons/{coupon_id:str}",
        "/coupons/{coupon_id:str}/analytics",
        "/transactions",
        "/credits/summary",
        "/grants/bulk",
        "/trials/analytics",
        "/accounts/{user_id:str}/statement",
        "/billing/audit",
    ],
    http_method=["GET", "POST", "PATCH", "DELETE"],
)
async def admin_billing(request: Request[Any, Any, Any]) -> Response[Any]:
    """Billing's coupons, reports, bulk grants and audit trail: billing answers every method (405 where none)."""
    return await forward(request, admin_caller(request))
