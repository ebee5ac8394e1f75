"""Operator routes over users (``/admin/v1``, admin guard): search, counts, growth, lookup, role/active, deletion."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import delete, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody

from tollway.gateway import accounts_admin
from tollway.gateway.accounts_ports import AccountPorts
from tollway.gateway.api.accounts_auth import ACCOUNT_EXCEPTION_HANDLERS, provide_ports
from tollway.gateway.api.accounts_schemas import (
    AdminUserPatchIn,
    AuditOut,
    AuditPageOut,
    CountOut,
    DomainDeletionOut,
    GrowthDayOut,
    GrowthOut,
    KeyOwnerOut,
    LookupByKeyIn,
    StatsOut,
    UserDetailOut,
    UserPageOut,
)
from tollway.gateway.api.schemas import ApiKeyOut, UserOut
from tollway.gateway.domain.accounts_records import UserFilter

ACTOR = "admin_api"
Ports = NamedDependency[AccountPorts]
# Served by the admin router (api/admin.py): one router per path, or Litestar refuses the shared paths' OPTIONS.
ADMIN_OPTIONS: dict[str, Any] = {
    "dependencies": {"ports": Provide(provide_ports, sync_to_thread=False)},
    "exception_handlers": ACCOUNT_EXCEPTION_HANDLERS,
}


def _filter(
    *,
    email: str | None,
    q: str | None,
    role: str | None,
    active: bool | None,
    after: datetime | None,
    before: datetime | None,
) -> UserFilter:
    # `q` is what the console sends; `email` what the issue names: both mean "email contains".
    return UserFilter(
        email_contains=email or q, role=role, is_active=active, created_after=after, created_before=before
    )


@get("/users", **ADMIN_OPTIONS)
async def list_users(
    ports: Ports,
    *,
    email: FromQuery[str | None] = None,
    q: FromQuery[str | None] = None,
    role: FromQuery[str | None] = None,
    active: FromQuery[bool | None] = None,
    created_after: FromQuery[datetime | None] = None,
    created_before: FromQuery[datetime | None] = None,
    cursor: FromQuery[str | None] = None,
    limit: FromQuery[int] = 50,
) -> UserPageOut:
    where = _filter(email=email, q=q, role=role, active=active, after=created_after, before=created_before)
    page = await accounts_admin.list_users(ports, where, cursor, limit)
    users = [UserOut.of(user) for user in page.users]
    return UserPageOut(data=users, has_more=page.next_cursor is not None, next_cursor=page.next_cursor)


@get("/users/count", **ADMIN_OPTIONS)
async def count_users(
    ports: Ports,
    email: FromQuery[str | None] = None,
    role: FromQuery[str | None] = None,
    active: FromQuery[bool | None] = None,
) -> CountOut:
    return CountOut(
        count=await accounts_admin.count_users(
            ports, _filter(email=email, q=None, role=role, active=active, after=None, before=None)
        )
    )


@get("/users/stats", **ADMIN_OPTIONS)
async def user_stats(
    ports: Ports,
    email: FromQuery[str | None] = None,
    role: FromQuery[str | None] = None,
    active: FromQuery[bool | None] = None,
) -> StatsOut:
    return StatsOut.of(
        await accounts_admin.user_stats(
            ports, _filter(email=email, q=None, role=role, active=active, after=None, before=None)
        )
    )


@get("/users/growth", **ADMIN_OPTIONS)
async def user_growth(ports: Ports, days: FromQuery[int] = 30) -> GrowthOut:
    rows = await accounts_admin.user_growth(ports, days)
    first, last = rows[0][2] - rows[0][1], rows[-1][2]
    rate = 0.0 if first == 0 else round((last - first) / first * 100, 2)
    data = [GrowthDayOut(date=day, new_users=new, total=total) for day, new, total in rows]
    return GrowthOut(days=days, data=data, total=last, growth_rate=rate)


@get("/users/{user_id:str}/detail", **ADMIN_OPTIONS)
async def user_detail(user_id: FromPath[str], ports: Ports) -> UserDetailOut:
    user, keys = await accounts_admin.user_with_keys(ports, user_id)
    return UserDetailOut(user=UserOut.of(user), api_keys=[ApiKeyOut.of(key) for key in keys])


@post("/users/lookup-by-key", status_code=200, **ADMIN_OPTIONS)
async def lookup_by_key(data: JSONBody[LookupByKeyIn], ports: Ports) -> KeyOwnerOut:
    user, key = await accounts_admin.lookup_by_key(ports, data.key)
    return KeyOwnerOut(user=UserOut.of(user), api_key=ApiKeyOut.of(key))


@patch("/users/{user_id:str}", **ADMIN_OPTIONS)
async def update_user(user_id: FromPath[str], data: JSONBody[AdminUserPatchIn], ports: Ports) -> UserOut:
    user = await accounts_admin.update_user(
        ports, user_id, data.role, data.is_active, actor=ACTOR, routing_strategy=data.routing_strategy
    )
    return UserOut.of(user)


@delete("/users/by-domain/{domain:str}", status_code=200, **ADMIN_OPTIONS)
async def delete_by_domain(domain: FromPath[str], ports: Ports, dry_run: FromQuery[bool] = True) -> DomainDeletionOut:
    result = await accounts_admin.delete_users_in_domain(ports, domain, dry_run=dry_run, actor=ACTOR)
    users = [UserOut.of(user) for user in result.users]
    return DomainDeletionOut(
        domain=result.domain, dry_run=result.dry_run, matched=len(users), deleted=result.deleted, users=users
    )


@get("/api-keys/{api_key_id:str}", **ADMIN_OPTIONS)
async def get_api_key(api_key_id: FromPath[str], ports: Ports) -> ApiKeyOut:
    return ApiKeyOut.of(await accounts_admin.get_key(ports, api_key_id))


@get("/audit", **ADMIN_OPTIONS)
async def audit(
    ports: Ports,
    *,
    cursor: FromQuery[str | None] = None,
    limit: FromQuery[int] = 50,
    user_id: FromQuery[str | None] = None,
    event: FromQuery[str | None] = None,
) -> AuditPageOut:
    rows, next_cursor = await accounts_admin.audit_page(ports, cursor, limit, user_id=user_id, event=event)
    data = [AuditOut.of(row) for row in rows]
    return AuditPageOut(data=data, has_more=next_cursor is not None, next_cursor=next_cursor)


ADMIN_USER_HANDLERS = [
    list_users, count_users, user_stats, user_growth, user_detail, lookup_by_key, update_user,
    delete_by_domain, get_api_key, audit,
]  # fmt: skip
