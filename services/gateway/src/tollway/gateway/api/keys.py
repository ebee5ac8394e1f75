"""Self-service API keys: list, create, read, change, revoke, rotate the caller's own keys and read their spend."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec
from litestar import Controller, Request, Response, Router, delete, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody

from tollway.contracts import utc_now
from tollway.gateway import own_keys
from tollway.gateway.accounts_ports import AccountPorts
from tollway.gateway.api.accounts_auth import ACCOUNT_EXCEPTION_HANDLERS, provide_ports, provide_principal
from tollway.gateway.api.accounts_schemas import KeyIn, KeyPatchIn, RotatedKeyOut, RotateIn
from tollway.gateway.api.auth import services_of
from tollway.gateway.api.schemas import ApiKeyListOut, ApiKeyOut, CreatedApiKeyOut
from tollway.gateway.domain.accounts import Principal
from tollway.gateway.domain.admission import BudgetWindow, budget_periods
from tollway.gateway.domain.api_keys import ApiKey
from tollway.gateway.domain.rejections import ServiceUnavailableError

Ports = NamedDependency[AccountPorts]
Caller = NamedDependency[Principal]
NO_STORE = {"Cache-Control": "no-store"}


def _reader(caller: Principal) -> None:
    # Listing keys is reading the account: a `read` or an `account` key may do it, an `inference`-only key may not.
    caller.require("read" if "read" in caller.scopes else "account")


class BudgetSpendOut(msgspec.Struct, frozen=True, kw_only=True):
    period: str  # the UTC day (YYYYMMDD) or month (YYYYMM)
    spend_micros: int  # settled costs plus the worst case of requests still running
    limit_micros: int | None
    remaining_micros: int | None


class KeySpendOut(msgspec.Struct, frozen=True, kw_only=True):
    object: str = "api_key.spend"
    api_key_id: str
    source: str = "gateway_admission_counters"  # the counters the credit gate enforces, not billing's ledger
    day: BudgetSpendOut
    month: BudgetSpendOut


class KeyController(Controller):
    path = "/keys"

    @get("/")
    async def list_keys(self, ports: Ports, caller: Caller) -> ApiKeyListOut:
        _reader(caller)
        return ApiKeyListOut(data=[ApiKeyOut.of(key) for key in await own_keys.list_my_keys(ports, caller)])

    @post("/")
    async def create_key(self, data: JSONBody[KeyIn], ports: Ports, caller: Caller) -> Response[CreatedApiKeyOut]:
        caller.require("account")
        issued = await own_keys.create_my_key(ports, caller, data.settings())
        return Response(CreatedApiKeyOut.issued(issued), status_code=201, headers=NO_STORE)

    @get("/{api_key_id:str}")
    async def get_key(self, api_key_id: FromPath[str], ports: Ports, caller: Caller) -> ApiKeyOut:
        _reader(caller)
        return ApiKeyOut.of(await own_keys.get_my_key(ports, caller, api_key_id))

    @get("/{api_key_id:str}/spend")
    async def key_spend(
        self, api_key_id: FromPath[str], ports: Ports, caller: Caller, request: Request[Any, Any, Any]
    ) -> KeySpendOut:
        _reader(caller)
        key = await own_keys.get_my_key(ports, caller, api_key_id)  # 404 unless the caller owns it
        public = services_of(request).public
        if public is None:
            raise ServiceUnavailableError("key spend is read where requests are admitted")
        periods = budget_periods(utc_now())
        spent = await public.ports.admission.key_spend(caller.user_id, key.id, periods)
        return _spend_out(key, periods, spent)

    @patch("/{api_key_id:str}")
    async def update_key(
        self, api_key_id: FromPath[str], data: JSONBody[KeyPatchIn], ports: Ports, caller: Caller
    ) -> ApiKeyOut:
        caller.require("account")
        return ApiKeyOut.of(await own_keys.update_my_key(ports, caller, api_key_id, data.changes()))

    @delete("/{api_key_id:str}", status_code=200)
    async def revoke_key(self, api_key_id: FromPath[str], ports: Ports, caller: Caller) -> ApiKeyOut:
        caller.require("account")
        return ApiKeyOut.of(await own_keys.revoke_my_key(ports, caller, api_key_id))

    @post("/{api_key_id:str}/rotate", status_code=201)
    async def rotate_key(
        self, api_key_id: FromPath[str], ports: Ports, caller: Caller, data: JSONBody[RotateIn | None] = None
    ) -> Response[RotatedKeyOut]:
        caller.require("account")
        grace = None if data is None else data.grace_seconds
        issued, previous = await own_keys.rotate_my_key(ports, caller, api_key_id, grace)
        fields = CreatedApiKeyOut.issued(issued)
        body = RotatedKeyOut(
            **{name: getattr(fields, name) for name in fields.__struct_fields__}, previous=ApiKeyOut.of(previous)
        )
        return Response(body, status_code=201, headers=NO_STORE)


def _spend_out(key: ApiKey, periods: Mapping[BudgetWindow, str], spent: Mapping[str, int]) -> KeySpendOut:
    def window(name: BudgetWindow, limit: int | None) -> BudgetSpendOut:
        remaining = None if limit is None else max(0, limit - spent[name])
        return BudgetSpendOut(
            period=periods[name], spend_micros=spent[name], limit_micros=limit, remaining_micros=remaining
        )

    return KeySpendOut(
        api_key_id=key.id,
        day=window("day", key.spend_limit_day_micros),
        month=window("month", key.spend_limit_month_micros),
    )


def keys_router() -> Router:
    return Router(
        path="/v1",
        route_handlers=[KeyController],
        dependencies={
            "ports": Provide(provide_ports, sync_to_thread=False),
            "caller": Provide(provide_principal),
        },
        exception_handlers=ACCOUNT_EXCEPTION_HANDLERS,
        include_in_schema=False,
    )
