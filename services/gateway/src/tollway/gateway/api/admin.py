"""The admin API (``/admin/v1``): users and their API keys; every route needs the admin key."""

from __future__ import annotations

from litestar import Controller, Response, Router, delete, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody

from tollway.gateway import handlers
from tollway.gateway.api.admin_users import ADMIN_USER_HANDLERS
from tollway.gateway.api.auth import provide_services, require_admin
from tollway.gateway.api.errors import EXCEPTION_HANDLERS
from tollway.gateway.api.owners import admin_billing, admin_credit, admin_usage
from tollway.gateway.api.schemas import (
    ApiKeyIn,
    ApiKeyListOut,
    ApiKeyOut,
    CreatedApiKeyOut,
    RateLimitsIn,
    RateLimitsOut,
    UserIn,
    UserOut,
)
from tollway.gateway.bootstrap import GatewayServices
from tollway.gateway.domain.ratelimits import LimitOverride, Subject

ACTOR = "admin_api"
Services = NamedDependency[GatewayServices]
NO_STORE = {"Cache-Control": "no-store"}  # the created key must not linger in any cache on the way


class UserController(Controller):
    path = "/users"

    @post("/")
    async def create_user(self, data: JSONBody[UserIn], services: Services) -> UserOut:
        return UserOut.of(await handlers.register_user(services.store, data.to_new_user(), actor=ACTOR))

    @get("/{user_id:str}")
    async def get_user(self, user_id: FromPath[str], services: Services) -> UserOut:
        return UserOut.of(await handlers.get_user(services.store, user_id))

    @post("/{user_id:str}/api-keys")
    async def create_api_key(
        self, user_id: FromPath[str], data: JSONBody[ApiKeyIn], services: Services
    ) -> Response[CreatedApiKeyOut]:
        issued = await handlers.create_api_key(
            services.store, services.digester, user_id, actor=ACTOR, name=data.name, expires_at=data.expires_at
        )
        return Response(CreatedApiKeyOut.issued(issued), status_code=201, headers=NO_STORE)

    @get("/{user_id:str}/api-keys")
    async def list_api_keys(self, user_id: FromPath[str], services: Services) -> ApiKeyListOut:
        keys = await handlers.list_api_keys(services.store, user_id)
        return ApiKeyListOut(data=[ApiKeyOut.of(key) for key in keys])

    @get("/{user_id:str}/rate-limits")
    async def get_rate_limits(self, user_id: FromPath[str], services: Services) -> RateLimitsOut:
        return await _get_limits(services, Subject.USER, user_id)

    @put("/{user_id:str}/rate-limits")
    async def set_rate_limits(
        self, user_id: FromPath[str], data: JSONBody[RateLimitsIn], services: Services
    ) -> RateLimitsOut:
        return await _set_limits(services, Subject.USER, user_id, data)

    @delete("/{user_id:str}/rate-limits", status_code=200)
    async def clear_rate_limits(self, user_id: FromPath[str], services: Services) -> RateLimitsOut:
        return await _clear_limits(services, Subject.USER, user_id)


class ApiKeyController(Controller):
    path = "/api-keys"

    @delete("/{api_key_id:str}", status_code=200)
    async def revoke_api_key(self, api_key_id: FromPath[str], services: Services) -> ApiKeyOut:
        key = await handlers.revoke_api_key(services.store, api_key_id, actor=ACTOR, fast_path=services.fast_path)
        return ApiKeyOut.of(key)

    @get("/{api_key_id:str}/rate-limits")
    async def get_rate_limits(self, api_key_id: FromPath[str], services: Services) -> RateLimitsOut:
        return await _get_limits(services, Subject.API_KEY, api_key_id)

    @put("/{api_key_id:str}/rate-limits")
    async def set_rate_limits(
        self, api_key_id: FromPath[str], data: JSONBody[RateLimitsIn], services: Services
    ) -> RateLimitsOut:
        return await _set_limits(services, Subject.API_KEY, api_key_id, data)

    @delete("/{api_key_id:str}/rate-limits", status_code=200)
    async def clear_rate_limits(self, api_key_id: FromPath[str], services: Services) -> RateLimitsOut:
        return await _clear_limits(services, Subject.API_KEY, api_key_id)


async def _get_limits(services: GatewayServices, subject: Subject, subject_id: str) -> RateLimitsOut:
    return RateLimitsOut.of(subject, subject_id, await handlers.get_rate_limits(services.store, subject, subject_id))


async def _set_limits(
    services: GatewayServices, subject: Subject, subject_id: str, data: RateLimitsIn
) -> RateLimitsOut:
    override = await handlers.set_rate_limits(services.store, subject, subject_id, data.to_override(), actor=ACTOR)
    _apply_here(services, subject, subject_id, override)
    return RateLimitsOut.of(subject, subject_id, override)


async def _clear_limits(services: GatewayServices, subject: Subject, subject_id: str) -> RateLimitsOut:
    await handlers.clear_rate_limits(services.store, subject, subject_id, actor=ACTOR)
    _apply_here(services, subject, subject_id, None)
    return RateLimitsOut.of(subject, subject_id, None)


def _apply_here(services: GatewayServices, subject: Subject, subject_id: str, override: LimitOverride | None) -> None:
    # This replica at once; the others at their next reload of the table (GATEWAY_LIMITS_REFRESH_S).
    if services.public is not None:
        services.public.limits.apply(subject, subject_id, override)


def admin_router() -> Router:
    """A fresh router per app (routers are bound to the app that registers them)."""
    return Router(
        path="/admin/v1",
        route_handlers=[
            UserController,
            ApiKeyController,
            admin_credit,
            admin_usage,
            admin_billing,
            *ADMIN_USER_HANDLERS,
        ],
        guards=[require_admin],
        dependencies={"services": Provide(provide_services, sync_to_thread=False)},
        exception_handlers=EXCEPTION_HANDLERS,
        include_in_schema=False,
    )
