"""``/admin/v1/flags``: feature flags, global and per account (admin only)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, Router, get, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter

from tollway.analytics import handlers
from tollway.analytics.api.errors import EXCEPTION_HANDLERS
from tollway.analytics.api.usage import require_admin
from tollway.analytics.bootstrap import provide_flags
from tollway.analytics.domain.flags import EffectiveFlag, Flag
from tollway.analytics.ports import FlagStore

Flags = NamedDependency[FlagStore]
AccountId = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class FlagIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    enabled: bool
    account_id: AccountId | None = None  # None: the global value
    updated_by: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] = "admin"


class FlagListOut(msgspec.Struct, frozen=True, kw_only=True):
    object: str = "list"
    data: list[Flag]
    effective: list[EffectiveFlag] | None


class FlagController(Controller):
    path = "/admin/v1/flags"
    guards = [require_admin]  # noqa: RUF012 - Litestar reads these class attributes

    @get("/")
    async def list_flags(
        self,
        flags: Flags,
        account_id: Annotated[str | None, QueryParameter(required=False, description="show what it sees")] = None,
    ) -> FlagListOut:
        stored, seen = await handlers.list_flags(flags, account_id)
        return FlagListOut(data=stored, effective=seen)

    @put("/{name:str}")
    async def set_flag(self, name: FromPath[str], data: JSONBody[FlagIn], flags: Flags) -> Flag:
        return await handlers.set_flag(flags, name, data.account_id, data.enabled, f"admin:{data.updated_by}")


def flags_router() -> Router:
    return Router(
        path="/",
        route_handlers=[FlagController],
        dependencies={"flags": Provide(provide_flags, sync_to_thread=False)},
        exception_handlers=EXCEPTION_HANDLERS,
    )
