"""Who calls an account route (session token or scoped API key) and how account failures become HTTP errors."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap

from tollway.gateway import accounts
from tollway.gateway.accounts_ports import AccountPorts
from tollway.gateway.api.auth import bearer_token, services_of
from tollway.gateway.api.errors import InvalidCredentials, error_response, on_gateway_error, on_http_error
from tollway.gateway.domain import api_keys as key_format
from tollway.gateway.domain.accounts import (
    ForbiddenError,
    InvalidCredentialsError,
    InvalidTokenError,
    Principal,
    TooManyAttemptsError,
    UnprocessableError,
    address_allowed,
)
from tollway.gateway.domain.errors import GatewayError
from tollway.gateway.handlers import authenticate_key


def ports_of(connection: ASGIConnection[Any, Any, Any, Any]) -> AccountPorts:
    ports = services_of(connection).accounts
    if ports is None:
        raise RuntimeError("the account routes run only in the serve process")
    return ports


def provide_ports(request: ASGIConnection[Any, Any, Any, Any]) -> AccountPorts:
    return ports_of(request)


def client_address(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    return connection.client.host if connection.client else "unknown"


async def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal | None:
    """The caller behind ``Authorization: Bearer`` / ``x-api-key``: a session or a key; ``None`` if nothing sent."""
    token = bearer_token(connection) or connection.headers.get("x-api-key")
    if token is None:
        return None
    ports = ports_of(connection)
    if token.startswith(key_format.KEY_PREFIX):
        identity = await authenticate_key(token, services_of(connection).auth)
        if identity is None:
            raise InvalidCredentials("invalid or revoked API key", "invalid_api_key")
        if not address_allowed(identity.ip_allowlist, client_address(connection)):
            raise ForbiddenError("this key may not be used from this address", "address")
        return accounts.key_principal(identity, await accounts.role_of(ports, identity.user_id))
    try:
        return await accounts.resolve_session(ports, token)
    except InvalidTokenError as exc:
        raise InvalidCredentials(exc.message, "invalid_token") from None


async def admin_principal(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The id of the caller if a user with the admin role (a session, or a key with the ``account`` scope)."""
    try:
        principal = await principal_of(connection)
    except (GatewayError, HTTPException):
        return None
    if principal is None or principal.role != "admin" or "account" not in principal.scopes:
        return None
    return principal.user_id


async def provide_principal(request: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    principal = await principal_of(request)
    if principal is None:
        raise InvalidCredentials(
            "sign in: send `Authorization: Bearer <access token or API key>`", "missing_credentials"
        )
    return principal


async def provide_optional_principal(request: ASGIConnection[Any, Any, Any, Any]) -> Principal | None:
    return await principal_of(request)


_STATUS: tuple[tuple[type[GatewayError], int], ...] = (
    (UnprocessableError, 422),
    (InvalidCredentialsError, 401),
    (InvalidTokenError, 401),
    (ForbiddenError, 403),
)


def on_account_error(request: Request[Any, Any, Any], exc: GatewayError) -> Response[dict[str, Any]]:
    if isinstance(exc, TooManyAttemptsError):
        headers = {"Retry-After": str(exc.retry_after_s)}
        return error_response(429, exc.message, code=exc.code, param=exc.param, headers=headers)
    status = next((status for kind, status in _STATUS if isinstance(exc, kind)), None)
    if status is None:
        return on_gateway_error(request, exc)
    response = error_response(status, exc.message, code=exc.code, param=exc.param)
    if status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


def on_account_http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    """Bodies that parse but break the schema (unknown, privileged or mistyped fields) are 422; bad JSON stays 400."""
    if isinstance(exc, ValidationException) and "malformed" not in str(exc.detail).lower():
        response = on_http_error(request, exc)
        body = response.content
        body["error"]["code"] = "unprocessable"
        return error_response(422, body["error"]["message"], code="unprocessable", param=body["error"]["param"])
    return on_http_error(request, exc)


ACCOUNT_EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    GatewayError: on_account_error,
    HTTPException: on_account_http_error,
}
