"""The Litestar app shell shared by every service: infra lifespan, health, metrics, tracing, clean errors."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Any

import asyncpg.exceptions
import asyncpg.exceptions._base
from litestar import Litestar, Request, Response, Router
from litestar.connection import ASGIConnection
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.plugins.opentelemetry import OpenTelemetryConfig, OpenTelemetryPlugin
from litestar.plugins.prometheus import PrometheusConfig
from litestar.types import ASGIApp, ControllerRouterHandler
from sqlalchemy.exc import DBAPIError

from tollway.platform.fleet_metrics import fleet_gauges
from tollway.platform.health import HealthController, MetricsController
from tollway.platform.hot_path import DirectRoutes
from tollway.platform.identity import IDENTITY_HEADER, SIGNATURE_HEADER, Identity, IdentityError, verify_identity
from tollway.platform.infra import Infra, open_infra
from tollway.platform.json_request import JsonSafeRequest
from tollway.platform.settings import InfraSettings

log = logging.getLogger(__name__)
_IDENTITY_STATE = "tollway_identity"  # where the router's guard leaves the verified identity for the handler

Lifespan = Callable[[Litestar], AbstractAsyncContextManager[None]]


def service_app(
    service: str,
    settings: InfraSettings,
    route_handlers: Sequence[ControllerRouterHandler] = (),
    *,
    db: bool = True,
    nats: bool = True,
    redis: bool = False,
    http: bool = False,
    lifespans: Sequence[Lifespan] = (),
    hot_routes: Mapping[str, ASGIApp] | None = None,
    internal: bool = True,
    hot_patterns: Sequence[tuple[re.Pattern[str], ASGIApp]] = (),
) -> Litestar:
    """A Litestar app whose lifespan opens the service's infra into ``app.state.infra``.

    ``lifespans`` run inside it, in order, so a service's own background tasks start after the infra is open and
    stop (flushing what they hold) before it closes. ``hot_routes`` (exact path → raw ASGI function) are served
    before Litestar by ``DirectRoutes``: its middleware cost about a third of a request's CPU on those routes;
    ``hot_patterns`` (whole-path regex → raw ASGI function) are the hot routes with a parameter in their path.
    ``internal`` services (all but the gateway) serve ``route_handlers`` only to signed callers, and ``/admin``
    paths only to admins, whatever each handler declares: one guard on the router, not one per handler.
    """

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        async with open_infra(settings, service, db=db, nats=nats, redis=redis, http=http) as infra:
            app.state.infra = infra
            app.state.settings = settings
            async with AsyncExitStack() as stack:
                await stack.enter_async_context(fleet_gauges(infra, settings.database_url))
                for extra in lifespans:
                    await stack.enter_async_context(extra(app))
                yield

    prometheus = PrometheusConfig(app_name=service.replace("-", "_"), group_path=True)
    app = Litestar(
        route_handlers=[HealthController, MetricsController, *_guarded(route_handlers, internal)],
        lifespan=[lifespan],
        middleware=[prometheus.middleware],
        plugins=[OpenTelemetryPlugin(OpenTelemetryConfig(exclude=["/health", "/ready", "/metrics"]))],
        exception_handlers={
            HTTPException: _http_error,
            DBAPIError: unstorable_value_error,
            Exception: unexpected_error,
        },
        debug=False,
        request_class=JsonSafeRequest,
    )
    if hot_routes or hot_patterns:
        app.asgi_handler = DirectRoutes(app.asgi_handler, hot_routes or {}, app, hot_patterns)
    return app


def _guarded(route_handlers: Sequence[ControllerRouterHandler], internal: bool) -> list[ControllerRouterHandler]:
    if not internal or not route_handlers:
        return list(route_handlers)
    return [Router(path="/", route_handlers=list(route_handlers), guards=[signed_caller])]


def signed_caller(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: 401 without a valid signed identity; 403 on an ``/admin`` path unless the identity is an admin."""
    settings: InfraSettings = connection.app.state.settings
    try:
        identity = verify_identity(
            connection.headers.get(IDENTITY_HEADER),
            connection.headers.get(SIGNATURE_HEADER),
            settings.internal_secret.encode(),
        )
    except IdentityError as exc:
        raise NotAuthorizedException(detail=str(exc)) from None
    if connection.url.path.startswith("/admin") and identity.role != "admin":
        raise PermissionDeniedException(detail="admin only")
    connection.state[_IDENTITY_STATE] = identity


def infra_of(request: Request[Any, Any, Any]) -> Infra:
    infra: Infra = request.app.state.infra
    return infra


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    return Response(
        {"error": {"message": exc.detail, "type": "invalid_request_error", "code": exc.status_code}},
        status_code=exc.status_code,
        headers=exc.headers,
    )


# The OpenAI error shape's ``type`` and ``code`` by status, for the internal services' own error answers.
_ERROR_KINDS = {
    400: ("invalid_request_error", "invalid_request"),
    401: ("authentication_error", "unauthorized"),
    403: ("permission_error", "forbidden"),
    404: ("invalid_request_error", "not_found"),
    405: ("invalid_request_error", "method_not_allowed"),
    409: ("invalid_request_error", "conflict"),
    422: ("invalid_request_error", "invalid_parameter"),
}


def error_response(
    status: int, message: str, *, param: str | None = None, headers: dict[str, str] | None = None
) -> Response[dict[str, Any]]:
    """``{"error": {"message", "type", "param", "code"}}`` with the status's type and code; never a traceback."""
    error_type, code = _ERROR_KINDS.get(status, ("server_error" if status >= 500 else "invalid_request_error", "error"))
    body = {"error": {"message": message, "type": error_type, "param": param, "code": code}}
    return Response(body, status_code=status, headers=headers)


def unexpected_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    """Exception handler of last resort: logged with its traceback for operators, a plain 500 for the client."""
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal error")


def unstorable_value_error(request: Request[Any, Any, Any], exc: DBAPIError) -> Response[dict[str, Any]]:
    """A value the database refuses to take is the caller's 400; any other database failure is a 500.

    Postgres' SQLSTATE class 22 ("data exception": a NUL in text, a number too large) and asyncpg's own refusal to
    encode an argument (a time that leaves years 1-9999 in UTC) are caused by the value alone, and every value a
    query carries came from the request or was derived from it. Validating each field for them would repeat the
    database's own rules on every route.
    """
    if not _is_data_exception(exc):
        return unexpected_error(request, exc)
    log.warning("refused a value the database cannot store on %s %s", request.method, request.url.path)
    return error_response(400, "a value in the request cannot be stored (text with a NUL byte, or out of range)")


def _is_data_exception(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, asyncpg.exceptions.DataError | asyncpg.exceptions._base.DataError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def caller_identity(request: Request[Any, Any, Any]) -> Identity:
    """The verified identity of an internal call (Litestar dependency); 401 when it is unsigned or invalid."""
    verified: Identity | None = request.state.get(_IDENTITY_STATE)
    if verified is not None:  # the router's guard has checked it already
        return verified
    settings: InfraSettings = request.app.state.settings
    try:
        return verify_identity(
            request.headers.get(IDENTITY_HEADER),
            request.headers.get(SIGNATURE_HEADER),
            settings.internal_secret.encode(),
        )
    except IdentityError as exc:
        raise NotAuthorizedException(detail=str(exc)) from None


def admin_identity(request: Request[Any, Any, Any]) -> Identity:
    """Like ``caller_identity`` but only for operators; 403 for anyone else."""
    identity = caller_identity(request)
    if identity.role != "admin":
        raise PermissionDeniedException(detail="admin only")
    return identity
