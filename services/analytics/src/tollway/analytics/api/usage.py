"""Usage routes: a user's own usage (``/v1/usage``) and everyone's for operators (``/admin/v1/usage``)."""

from __future__ import annotations

from typing import Any, cast

from litestar import Controller, Request, Router, get
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency, Provide
from litestar.exceptions import PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from tollway.analytics import handlers
from tollway.analytics.api.errors import EXCEPTION_HANDLERS
from tollway.analytics.api.params import admin_usage_query, requests_query, usage_query
from tollway.analytics.api.schemas import AdminUsageQueryIn, RequestListOut, RequestsQueryIn, UsageOut, UsageQueryIn
from tollway.analytics.bootstrap import provide_reader
from tollway.analytics.ports import UsageReader
from tollway.platform.http import admin_identity, caller_identity
from tollway.platform.identity import Identity


def require_caller(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: a signed identity before any parameter is looked at (401 beats 422)."""
    caller_identity(cast("Request[Any, Any, Any]", connection))


def require_admin(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    admin_identity(cast("Request[Any, Any, Any]", connection))


def own_user_id(identity: Identity) -> str:
    if identity.user_id is None:
        raise PermissionDeniedException(detail="usage is recorded per user; this caller has no user")
    return identity.user_id


class UsageController(Controller):
    path = "/v1/usage"
    guards = [require_caller]  # noqa: RUF012 - Litestar reads these class attributes
    dependencies = {"identity": Provide(caller_identity, sync_to_thread=False)}  # noqa: RUF012

    @get("/", dependencies={"params": Provide(usage_query, sync_to_thread=False)})
    async def usage(
        self,
        identity: NamedDependency[Identity],
        params: NamedDependency[UsageQueryIn],
        reader: NamedDependency[UsageReader],
    ) -> UsageOut:
        filters = params.filters(user_id=own_user_id(identity))
        return UsageOut.of(await handlers.usage_report(reader, filters, params.group_by))

    @get("/requests", dependencies={"params": Provide(requests_query, sync_to_thread=False)})
    async def requests(
        self,
        identity: NamedDependency[Identity],
        params: NamedDependency[RequestsQueryIn],
        reader: NamedDependency[UsageReader],
    ) -> RequestListOut:
        filters = params.filters(user_id=own_user_id(identity))
        return RequestListOut.of(await handlers.list_requests(reader, filters, params.after(), params.limit))


class AdminUsageController(Controller):
    path = "/admin/v1/usage"
    guards = [require_admin]  # noqa: RUF012

    @get("/", dependencies={"params": Provide(admin_usage_query, sync_to_thread=False)})
    async def usage(self, params: NamedDependency[AdminUsageQueryIn], reader: NamedDependency[UsageReader]) -> UsageOut:
        filters = params.filters(user_id=params.user_id)
        return UsageOut.of(await handlers.usage_report(reader, filters, params.group_by))


def usage_router() -> Router:
    """A fresh router per app (routers are bound to the app that registers them)."""
    return Router(
        path="/",
        route_handlers=[UsageController, AdminUsageController],
        dependencies={"reader": Provide(provide_reader, sync_to_thread=False)},
        exception_handlers=EXCEPTION_HANDLERS,
    )
