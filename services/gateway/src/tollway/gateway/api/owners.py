"""Account routes owned by billing and analytics: authenticated here, forwarded with a signed identity."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency, Provide

from tollway.gateway.api.auth import provide_identity
from tollway.gateway.domain.identity import Identity
from tollway.gateway.domain.ids import new_request_id
from tollway.gateway.settings import GatewaySettings
from tollway.platform.identity import Identity as CallerIdentity
from tollway.platform.identity import sign_identity

# Which service owns a path; the gateway adds who is calling and passes everything else through unchanged.
OWNER_OF = (
    ("/v1/credits", "billing"),
    ("/v1/usage", "analytics"),
)
PASSED_HEADERS = ("content-type", "idempotency-key", "traceparent")


async def forward(request: Request[Any, Any, Any], caller: CallerIdentity) -> Response[bytes]:
    settings: GatewaySettings = request.app.state.settings
    owner = next(service for prefix, service in OWNER_OF if request.url.path.startswith(prefix))
    base = settings.billing_url if owner == "billing" else settings.analytics_url
    url = base.rstrip("/") + request.url.path + (f"?{request.url.query}" if request.url.query else "")
    headers = {name: request.headers[name] for name in PASSED_HEADERS if name in request.headers}
    headers.update(sign_identity(caller, settings.internal_secret.encode()))
    http = request.app.state.infra.require_http()
    async with http.request(request.method, url, data=await request.body(), headers=headers) as answer:
        body = await answer.read()
    return Response(
        body, status_code=answer.status, media_type=answer.content_type, headers={"x-request-id": caller.request_id}
    )


def _user(identity: Identity) -> CallerIdentity:
    return CallerIdentity(
        request_id=new_request_id(),
        role="user",
        user_id=identity.user_id,
        account_id=identity.user_id,
        api_key_id=identity.api_key_id,
    )


@get(
    ["/v1/credits/balance", "/v1/credits/transactions", "/v1/usage", "/v1/usage/requests"],
    dependencies={"identity": Provide(provide_identity)},
)
async def user_account(request: Request[Any, Any, Any], identity: NamedDependency[Identity]) -> Response[bytes]:
    """The caller's own credit and usage, answered by their owners."""
    return await forward(request, _user(identity))
