"""Operator use cases over users: paged search, counts and growth, lookup by key, role/active, delete by domain."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec

from tollway.contracts import ApiKeyRevokedV1, Event, UserDeletedV1, utc_now
from tollway.gateway.accounts import publish_now, stage_key_updates
from tollway.gateway.accounts_ports import AccountPorts
from tollway.gateway.domain import api_keys as key_format
from tollway.gateway.domain.accounts import UnprocessableError, decode_cursor, email_domain, encode_cursor, growth
from tollway.gateway.domain.accounts_records import AuditRecord, UserFilter, UserStats
from tollway.gateway.domain.api_keys import ApiKey
from tollway.gateway.domain.audit import AuditEntry, AuditEvent
from tollway.gateway.domain.errors import ApiKeyNotFoundError, InvalidInputError, UserNotFoundError
from tollway.gateway.domain.users import ROLES, ROUTING_STRATEGIES, User

MAX_PAGE = 200


class Page(msgspec.Struct, frozen=True, kw_only=True):
    users: list[User]
    next_cursor: str | None


class DomainDeletion(msgspec.Struct, frozen=True, kw_only=True):
    domain: str
    dry_run: bool
    users: list[User]
    deleted: int


async def list_users(ports: AccountPorts, where: UserFilter, cursor: str | None, limit: int) -> Page:
    limit = _limit(limit)
    async with ports.store.transaction() as uow:
        found = await uow.accounts.page(where, decode_cursor(cursor), limit + 1)
    more = len(found) > limit
    users = found[:limit]
    last = users[-1] if more and users else None
    return Page(users=users, next_cursor=None if last is None else encode_cursor(last.created_at, last.id))


async def count_users(ports: AccountPorts, where: UserFilter) -> int:
    async with ports.store.transaction() as uow:
        return await uow.accounts.count(where)


async def user_stats(ports: AccountPorts, where: UserFilter) -> UserStats:
    async with ports.store.transaction() as uow:
        return await uow.accounts.stats(where)


async def user_growth(ports: AccountPorts, days: int) -> list[tuple[str, int, int]]:
    if not 1 <= days <= 365:
        raise UnprocessableError("days must be between 1 and 365", "days")
    today = datetime.now(UTC)
    since = datetime.combine(today.date() - timedelta(days=days - 1), datetime.min.time(), UTC)
    async with ports.store.transaction() as uow:
        before, daily = await uow.accounts.daily_signups(since)
    return growth(daily, before, days, today)


async def user_with_keys(ports: AccountPorts, user_id: str) -> tuple[User, list[ApiKey]]:
    async with ports.store.transaction() as uow:
        user = await uow.users.get(user_id)
        if user is None:
            raise UserNotFoundError(user_id)
        return user, await uow.api_keys.list_for_user(user_id)


async def lookup_by_key(ports: AccountPorts, key: str) -> tuple[User, ApiKey]:
    """The owner of a presented key, matched by its digest (the key itself is never stored or logged)."""
    if not key_format.is_well_formed(key):
        raise ApiKeyNotFoundError("(the presented key)")
    async with ports.store.transaction() as uow:
        found = await uow.account_keys.by_digest(ports.digester.digest(key))
        user = None if found is None else await uow.users.get(found.user_id)
    if found is None or user is None:
        raise ApiKeyNotFoundError("(the presented key)")
    return user, found


async def get_key(ports: AccountPorts, api_key_id: str) -> ApiKey:
    async with ports.store.transaction() as uow:
        key = await uow.api_keys.get(api_key_id)
    if key is None:
        raise ApiKeyNotFoundError(api_key_id)
    return key


async def update_user(
    ports: AccountPorts,
    user_id: str,
    role: str | None,
    is_active: bool | None,
    *,
    actor: str,
    routing_strategy: str | None = None,
) -> User:
    """Role, active flag and routing strategy; deactivating ends sessions.

    The active flag and the strategy travel in cached key identities, so every replica re-reads the user's keys.
    """
    if role is not None and role not in ROLES:
        raise UnprocessableError(f"role must be one of {', '.join(ROLES)}", "role")
    if routing_strategy is not None and routing_strategy not in ROUTING_STRATEGIES:
        raise UnprocessableError(f"routing_strategy must be one of {', '.join(ROUTING_STRATEGIES)}", "routing_strategy")
    fields = (("role", role), ("is_active", is_active), ("routing_strategy", routing_strategy))
    changes: dict[str, object] = {name: value for name, value in fields if value is not None}
    events: list[Event] = []
    async with ports.store.transaction() as uow:
        user = await uow.accounts.update(user_id, changes) if changes else await uow.users.get(user_id)
        if user is None:
            raise UserNotFoundError(user_id)
        if is_active is False:
            await uow.sessions.revoke_all(user_id, utc_now())
        if is_active is not None or routing_strategy is not None:
            events = await stage_key_updates(uow, [user_id])
        detail = {name: str(value) for name, value in changes.items()}
        await uow.audit.record(AuditEntry(event=AuditEvent.USER_UPDATED, actor=actor, user_id=user_id, detail=detail))
    await publish_now(ports, events)
    return user


async def delete_users_in_domain(ports: AccountPorts, domain: str, *, dry_run: bool, actor: str) -> DomainDeletion:
    """Every user whose email is ``@domain``: listed (dry run, the default) or deleted with their keys and sessions.

    Each deletion emits ``UserDeletedV1`` (other services erase or anonymise) and revokes the keys on every replica.
    """
    cleaned = email_domain(domain)
    async with ports.store.transaction() as uow:
        users = await uow.accounts.in_domain(cleaned)
        if dry_run or not users:
            return DomainDeletion(domain=cleaned, dry_run=dry_run, users=users, deleted=0)
        ids = [user.id for user in users]
        revoked: list[Event] = [
            ApiKeyRevokedV1(api_key_id=key_id, user_id=user_id)
            for key_id, user_id in await uow.account_keys.usable_ids(ids)
        ]
        deleted = await uow.accounts.delete(ids)
        await uow.outbox.stage([*revoked, *(UserDeletedV1(user_id=user_id) for user_id in ids)])
        for user_id in ids:
            detail = {"domain": cleaned}
            await uow.audit.record(
                AuditEntry(event=AuditEvent.USER_DELETED, actor=actor, user_id=user_id, detail=detail)
            )
    await publish_now(ports, revoked)
    return DomainDeletion(domain=cleaned, dry_run=False, users=users, deleted=deleted)


async def audit_page(
    ports: AccountPorts, cursor: str | None, limit: int, *, user_id: str | None, event: str | None
) -> tuple[list[AuditRecord], str | None]:
    limit = _limit(limit)
    after = decode_cursor(cursor)
    if after is not None and not after.id.isdigit():
        raise InvalidInputError("cursor is not one this API returned", "cursor")
    async with ports.store.transaction() as uow:
        found = await uow.audit_log.page(after, limit + 1, user_id=user_id, event=event)
    rows = found[:limit]
    more = len(found) > limit and rows
    return rows, encode_cursor(rows[-1].at, rows[-1].id) if more else None


def _limit(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE:
        raise UnprocessableError(f"limit must be between 1 and {MAX_PAGE}", "limit")
    return limit
