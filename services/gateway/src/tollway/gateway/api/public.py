"""The public routes: OpenAI chat completions, Anthropic messages and the model list, as raw ASGI handlers."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from litestar.handlers import ASGIRouteHandler, asgi

from tollway.contracts.internal_api import PublicApiName
from tollway.gateway import handlers
from tollway.gateway.api.auth import key_from_headers
from tollway.gateway.api.exchange import ClientGoneError, Scope, encode_headers, read_body, request_headers, send_whole
from tollway.gateway.api.limit_headers import mark_admitted
from tollway.gateway.api.public_errors import send_error
from tollway.gateway.api.relay import forward
from tollway.gateway.bootstrap import GatewayServices, PublicServices
from tollway.gateway.domain.accounts import AddressNotAllowedError, KeyScopeError, address_allowed
from tollway.gateway.domain.admission import Admitted, ChatCall
from tollway.gateway.domain.identity import Identity
from tollway.gateway.domain.ids import new_request_id
from tollway.gateway.domain.rejections import (
    InternalError,
    InvalidApiKeyError,
    MethodNotAllowedError,
    PublicError,
    ServiceUnavailableError,
)
from tollway.platform.hot_path import hot_request

log = logging.getLogger(__name__)
JSON = "application/json"


async def chat_completions(scope: Any, receive: Any, send: Any) -> None:
    await _traced_chat(scope, receive, send, "openai", "chat_completions")


async def messages(scope: Any, receive: Any, send: Any) -> None:
    await _traced_chat(scope, receive, send, "anthropic", "messages")


# Served before Litestar (tollway.platform.hot_path.DirectRoutes), after ``Edge`` took any key out of the path.
HOT_ROUTES = {"/v1/chat/completions": chat_completions, "/v1/messages": messages}


async def models(scope: Any, receive: Any, send: Any) -> None:
    """``GET /v1/models``: the cached catalogue, pre-encoded at each refresh."""
    request_id = new_request_id()
    services = _services(scope)
    try:
        if scope["method"] != "GET":
            raise MethodNotAllowedError("use GET")
        await _caller(scope, request_headers(scope), services)
        catalogue = services.catalogue.current()
        if catalogue is None:
            raise ServiceUnavailableError("the model catalogue is not loaded yet; please retry shortly")
    except PublicError as error:
        await send_error(send, "openai", error, request_id)
        return
    headers = encode_headers((("content-type", JSON), ("x-request-id", request_id)))
    await send_whole(send, 200, headers, catalogue.models_body)


def public_routes() -> list[ASGIRouteHandler]:
    """The public routes Litestar serves (a fresh handler per app); the chat routes are ``HOT_ROUTES``."""
    return [asgi("/v1/models", is_mount=False, copy_scope=False)(models)]


async def _traced_chat(scope: Scope, receive: Any, send: Any, api: PublicApiName, route: str) -> None:
    headers = request_headers(scope)
    with hot_request("gateway", route, headers) as outcome:
        # Served before any middleware, so ``receive`` is the server's own: no span per body chunk.
        outcome.status = await _chat(scope, receive, send, api, headers)


async def _chat(scope: Scope, receive: Any, send: Any, api: PublicApiName, headers: dict[str, str]) -> int:
    """Serve one call; returns the status sent (499 when the client left before an answer)."""
    request_id = new_request_id()
    services = _services(scope)
    try:
        admitted = await _admit(scope, receive, headers, services, api=api, request_id=request_id)
    except PublicError as error:
        await send_error(send, api, error, request_id)
        return error.status
    except ClientGoneError:
        return 499
    except Exception:
        # Logged by request id (never the path, which may have held a key); the client gets its API's shape.
        log.exception("admitting %s failed", request_id)
        await send_error(send, api, InternalError("the gateway failed to admit the request"), request_id)
        return 500
    return await forward(receive, send, services, admitted, headers)


async def _admit(
    scope: Scope,
    receive: Any,
    headers: dict[str, str],
    services: PublicServices,
    *,
    api: PublicApiName,
    request_id: str,
) -> Admitted:
    if scope["method"] != "POST":
        raise MethodNotAllowedError("use POST")
    identity = await _caller(scope, headers, services)  # before the body: no buffering for unknown callers
    body = await read_body(headers, receive, services.settings.max_body_bytes)
    client = _client_hash(scope) if identity is None else ""
    call = ChatCall(request_id=request_id, api=api, body=body, identity=identity, client=client)
    return await admit_call(scope, services, call)


async def admit_call(scope: Scope, services: PublicServices, call: ChatCall) -> Admitted:
    """Chat's admission for any inference route; the edge then knows the answer already carries the windows."""
    admitted = await handlers.admit_chat(services.ports, call)
    mark_admitted(scope)
    return admitted


async def _caller(
    scope: Scope, headers: dict[str, str], services: PublicServices, key: str | None = None
) -> Identity | None:
    """The key's identity on an inference route; ``None`` for a keyless call when anonymous use is enabled; else 401.

    Every caller here is an inference route (chat, its siblings, Gemini, Bedrock, the model list), so the key's
    ``inference`` scope is checked here once for all of them (403). ``key`` is one a route found where its API
    carries it (Gemini's ``x-goog-api-key``, a SigV4 access key id).
    """
    key = key or key_from_headers(scope, headers)
    if key is None:
        if services.settings.anonymous_enabled:
            return None
        raise InvalidApiKeyError("missing API key: send `Authorization: Bearer <key>` or `x-api-key: <key>`")
    gateway: GatewayServices = scope["app"].state.gateway
    identity = await handlers.authenticate_key(key, gateway.auth)
    if identity is None:
        raise InvalidApiKeyError("invalid or revoked API key")
    # Key attributes (ADR 009), from the cached identity: no query on a warm key.
    if not address_allowed(identity.ip_allowlist, (scope.get("client") or (None, 0))[0]):
        raise AddressNotAllowedError("this API key may not be used from this address")
    if "inference" not in identity.scopes:
        raise KeyScopeError("this API key lacks the `inference` scope")
    return identity


def _services(scope: Scope) -> PublicServices:
    gateway: GatewayServices = scope["app"].state.gateway
    if gateway.public is None:
        raise RuntimeError("the public routes run only in the serve process")
    return gateway.public


def _client_hash(scope: Scope) -> str:
    # Anonymous limits key on the client address; Redis keys hold a hash of it, not the address itself.
    host = (scope.get("client") or ("unknown", 0))[0]
    return hashlib.sha256(host.encode()).hexdigest()[:16]
