"""Who is calling: the admin guard (admin key via its digest) and the client API-key identity dependency."""

from __future__ import annotations

import time
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from tollway.gateway.api.edge import PATH_KEY
from tollway.gateway.api.errors import InvalidCredentials
from tollway.gateway.bootstrap import GatewayServices
from tollway.gateway.domain.identity import Identity
from tollway.gateway.domain.ids import new_request_id
from tollway.gateway.handlers import authenticate_key, record_admin_auth_failure
from tollway.platform.identity import Identity as CallerIdentity

KEY_PATH_PARAM = "key"  # the ``/ak/{key}/v1/...`` routes carry the key in the path


def services_of(connection: ASGIConnection[Any, Any, Any, Any]) -> GatewayServices:
    services: GatewayServices = connection.app.state.gateway
    return services


def provide_services(request: ASGIConnection[Any, Any, Any, Any]) -> GatewayServices:
    return services_of(request)


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def presented_key(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The client key from the path, ``Authorization: Bearer`` (OpenAI) or ``x-api-key`` (Anthropic).

    The path wins: SDKs pointed at ``/ak/{key}/v1`` still send a placeholder bearer token.
    """
    path_key = connection.scope.get(PATH_KEY) or connection.path_params.get(KEY_PATH_PARAM)
    if path_key:
        return str(path_key)
    return bearer_token(connection) or connection.headers.get("x-api-key")


def key_from_headers(scope: dict[str, Any], headers: dict[str, str]) -> str | None:
    """``presented_key`` for the raw ASGI routes, from the scope and already-decoded headers."""
    path_key: str | None = scope.get(PATH_KEY)
    if path_key:
        return path_key
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return headers.get("x-api-key") or None


ADMIN_ACTOR = "tollway_admin_actor"  # connection state: who passed the admin guard, for the owners' audit rows


async def require_admin(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard of ``/admin``: the admin key (digest compared in constant time) or a user with the admin role."""
    services = services_of(connection)
    presented = bearer_token(connection)
    if presented is None:
        reason = "missing"
    elif _is_admin_key(services, presented):
        # Which admin key: a digest prefix tells a rotated key from its successor, and reveals nothing.
        connection.state[ADMIN_ACTOR] = f"admin-key:{services.admin_digest[:8] if services.admin_digest else ''}"
        return
    elif (admin := await _admin_user(connection)) is not None:
        connection.state[ADMIN_ACTOR] = admin
        return
    else:
        reason = "admin_disabled" if services.admin_digest is None else "mismatch"
    source = connection.client.host if connection.client else None
    repeats = services.admin_failures.note((reason, source), time.monotonic())
    if repeats is not None:
        await record_admin_auth_failure(services.store, reason, source, repeats)
    raise InvalidCredentials("a valid admin key is required", "invalid_admin_key")


def admin_caller(connection: ASGIConnection[Any, Any, Any, Any]) -> CallerIdentity:
    """The signed identity an admin call is forwarded with, naming the operator who acted.

    Its ``user_id`` is ``admin-key:<digest prefix>`` or the admin user's id, so the owner's audit rows say who.
    """
    actor: str = connection.state.get(ADMIN_ACTOR, "admin-key")
    return CallerIdentity(request_id=new_request_id(), role="admin", user_id=actor)


def _is_admin_key(services: GatewayServices, presented: str) -> bool:
    return services.admin_digest is not None and services.digester.matches(presented, services.admin_digest)


async def _admin_user(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The id of a signed-in user with the admin role, or of one whose key has the ``account`` scope (ADR 009)."""
    if services_of(connection).accounts is None:
        return None
    from tollway.gateway.api.accounts_auth import admin_principal  # noqa: PLC0415 - it builds on this module

    return await admin_principal(connection)


async def provide_identity(request: ASGIConnection[Any, Any, Any, Any]) -> Identity:
    """Dependency for client routes: the caller's identity, or 401 ``invalid_api_key``."""
    key = presented_key(request)
    identity = None if key is None else await authenticate_key(key, services_of(request).auth)
    if identity is None:
        raise InvalidCredentials("invalid or revoked API key", "invalid_api_key")
    return identity
