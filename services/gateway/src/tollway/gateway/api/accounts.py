"""Identity routes: register, login, refresh, logout, password reset, external sign-in, ``/v1/me``."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, Router, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody

from tollway.gateway import accounts
from tollway.gateway.accounts_ports import AccountPorts
from tollway.gateway.api.accounts_auth import (
    ACCOUNT_EXCEPTION_HANDLERS,
    client_address,
    provide_optional_principal,
    provide_ports,
    provide_principal,
)
from tollway.gateway.api.accounts_schemas import (
    ExternalIn,
    LoginIn,
    LogoutIn,
    MePatchIn,
    RefreshIn,
    RegisteredOut,
    RegisterIn,
    ResetConfirmIn,
    ResetIn,
    SessionOut,
)
from tollway.gateway.api.keys import keys_router
from tollway.gateway.api.schemas import CreatedApiKeyOut, UserOut
from tollway.gateway.domain.accounts import Principal

Ports = NamedDependency[AccountPorts]
Caller = NamedDependency[Principal]
NO_STORE = {"Cache-Control": "no-store"}  # tokens and keys must not linger in any cache on the way


@post("/auth/register", status_code=201)
async def register(
    request: Request[Any, Any, Any], data: JSONBody[RegisterIn], ports: Ports
) -> Response[RegisteredOut]:
    user, issued = await accounts.register_account(
        ports, data.email, data.password, data.name, address=client_address(request)
    )
    body = RegisteredOut(user=UserOut.of(user), api_key=CreatedApiKeyOut.issued(issued))
    return Response(body, status_code=201, headers=NO_STORE)


@post("/auth/login", status_code=200)
async def login(request: Request[Any, Any, Any], data: JSONBody[LoginIn], ports: Ports) -> Response[SessionOut]:
    signed = await accounts.sign_in(ports, data.email, data.password, address=client_address(request))
    return Response(SessionOut.of(signed), headers=NO_STORE)


@post("/auth/refresh", status_code=200)
async def refresh(data: JSONBody[RefreshIn], ports: Ports) -> Response[SessionOut]:
    return Response(SessionOut.of(await accounts.refresh_session(ports, data.refresh_token)), headers=NO_STORE)


@post("/auth/logout", status_code=204, dependencies={"caller": Provide(provide_optional_principal)})
async def logout(
    ports: Ports, caller: NamedDependency[Principal | None], data: JSONBody[LogoutIn | None] = None
) -> None:
    await accounts.sign_out(ports, caller, None if data is None else data.refresh_token)


@post("/auth/password-reset", status_code=202)
async def password_reset(request: Request[Any, Any, Any], data: JSONBody[ResetIn], ports: Ports) -> dict[str, str]:
    await accounts.request_password_reset(ports, data.email, address=client_address(request))
    return {"object": "password_reset", "status": "requested"}


@post("/auth/password-reset/confirm", status_code=200)
async def password_reset_confirm(data: JSONBody[ResetConfirmIn], ports: Ports) -> dict[str, str]:
    await accounts.confirm_password_reset(ports, data.token, data.new_password)
    return {"object": "password_reset", "status": "completed"}


@post("/auth/external", status_code=200)
async def external(data: JSONBody[ExternalIn], ports: Ports) -> Response[SessionOut]:
    signed = await accounts.sign_in_external(ports, data.id_token)
    return Response(SessionOut.of(signed), status_code=201 if signed.first_key else 200, headers=NO_STORE)


@get("/me", dependencies={"caller": Provide(provide_principal)})
async def get_me(ports: Ports, caller: Caller) -> UserOut:
    caller.require("read" if "read" in caller.scopes else "account")
    return UserOut.of(await accounts.get_me(ports, caller))


@patch("/me", dependencies={"caller": Provide(provide_principal)})
async def patch_me(data: JSONBody[MePatchIn], ports: Ports, caller: Caller) -> UserOut:
    caller.require("account")
    changes = {name: getattr(data, name) for name in data.__struct_fields__ if getattr(data, name) is not msgspec.UNSET}
    return UserOut.of(await accounts.update_me(ports, caller, changes))


def accounts_router() -> Router:
    """A fresh router per app (routers are bound to the app that registers them)."""
    return Router(
        path="/v1",
        route_handlers=[
            register,
            login,
            refresh,
            logout,
            password_reset,
            password_reset_confirm,
            external,
            get_me,
            patch_me,
        ],
        dependencies={"ports": Provide(provide_ports, sync_to_thread=False)},
        exception_handlers=ACCOUNT_EXCEPTION_HANDLERS,
        include_in_schema=False,
    )


def account_routers() -> list[Router]:
    """The self-service routes of ADR 009: identity and ``/v1/me``, and ``/v1/keys``."""
    return [accounts_router(), keys_router()]  # the admin user routes are in the admin router (api/admin.py)
