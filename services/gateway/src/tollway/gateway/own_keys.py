"""The caller's own API keys: list, create, change, revoke and rotate them (the self-service key routes)."""

from __future__ import annotations

import msgspec

from tollway.contracts import (
    ApiKeyCreatedV1,
    ApiKeyRevokedV1,
    ApiKeyUpdatedV1,
    Event,
    utc_now,
)
from tollway.gateway.accounts import (
    BUDGET_FIELDS,
    actor_of,
    budget_events,
    changed_names,
    issue_key,
    key_entry,
    publish_now,
)
from tollway.gateway.accounts_ports import AccountPorts, AccountsUnitOfWork
from tollway.gateway.domain.accounts import (
    KeySettings,
    Principal,
    UnprocessableError,
    checked_key_settings,
    rotation_expiry,
)
from tollway.gateway.domain.api_keys import ApiKey, IssuedKey
from tollway.gateway.domain.audit import AuditEvent
from tollway.gateway.domain.errors import ApiKeyNotFoundError


async def list_my_keys(ports: AccountPorts, principal: Principal) -> list[ApiKey]:
    async with ports.store.transaction() as uow:
        return await uow.api_keys.list_for_user(principal.user_id)


async def get_my_key(ports: AccountPorts, principal: Principal, api_key_id: str) -> ApiKey:
    async with ports.store.transaction() as uow:
        return await _owned(uow, principal, api_key_id)


async def create_my_key(ports: AccountPorts, principal: Principal, settings: KeySettings) -> IssuedKey:
    issued = issue_key(ports, principal.user_id, checked_key_settings(settings, utc_now()))
    async with ports.store.transaction() as uow:
        await uow.api_keys.add(issued.api_key)
        key = issued.api_key
        await uow.outbox.stage(
            [
                ApiKeyCreatedV1(api_key_id=key.id, user_id=key.user_id, display_prefix=key.display_prefix),
                *budget_events(key),
            ]
        )
        await uow.audit.record(key_entry(AuditEvent.KEY_CREATED, actor_of(principal), key))
    return issued


async def update_my_key(
    ports: AccountPorts, principal: Principal, api_key_id: str, changes: dict[str, object]
) -> ApiKey:
    """Change a key's attributes; every replica drops the key from its cache (event + fast path)."""
    async with ports.store.transaction() as uow:
        key = await _owned(uow, principal, api_key_id)
        if key.revoked_at is not None:
            raise UnprocessableError("a revoked key cannot be changed", "api_key_id")
        merged = msgspec.structs.replace(_settings_of(key), **changes)
        checked = checked_key_settings(merged, utc_now()) if "expires_at" in changes else _checked_keep_expiry(merged)
        values = {name: getattr(checked, name) for name in changes}
        updated = await uow.account_keys.update(key.id, values)
        if updated is None:
            raise ApiKeyNotFoundError(api_key_id)
        event = ApiKeyUpdatedV1(api_key_id=key.id, user_id=key.user_id)
        budget = budget_events(updated, always=True) if BUDGET_FIELDS & changes.keys() else []
        await uow.outbox.stage([event, *budget])
        await uow.audit.record(
            key_entry(AuditEvent.KEY_UPDATED, actor_of(principal), key, detail=changed_names(changes))
        )
    await publish_now(ports, [event])
    return updated


async def revoke_my_key(ports: AccountPorts, principal: Principal, api_key_id: str) -> ApiKey:
    async with ports.store.transaction() as uow:
        key = await _owned(uow, principal, api_key_id)
        revoked = await uow.api_keys.revoke(key.id, utc_now())
        if revoked is None:
            return key  # already revoked: idempotent
        event = ApiKeyRevokedV1(api_key_id=key.id, user_id=key.user_id)
        await uow.outbox.stage([event])
        await uow.audit.record(key_entry(AuditEvent.KEY_REVOKED, actor_of(principal), key))
    await publish_now(ports, [event])
    return revoked


async def rotate_my_key(
    ports: AccountPorts, principal: Principal, api_key_id: str, grace_s: int | None
) -> tuple[IssuedKey, ApiKey]:
    """A new secret with the same attributes; the old key keeps working for the grace period, then stops."""
    now = utc_now()
    grace = ports.policy.rotation_grace_s if grace_s is None else grace_s
    async with ports.store.transaction() as uow:
        old = await _owned(uow, principal, api_key_id)
        if old.revoked_at is not None or old.rotated_to is not None:
            raise UnprocessableError("only a live key that was not rotated yet can be rotated", "api_key_id")
        ends = rotation_expiry(old.expires_at, now, grace)
        issued = issue_key(ports, old.user_id, _settings_of(old))
        await uow.api_keys.add(issued.api_key)
        retired = await uow.account_keys.update(old.id, {"expires_at": ends, "rotated_to": issued.api_key.id})
        new = issued.api_key
        events: list[Event] = [
            ApiKeyCreatedV1(api_key_id=new.id, user_id=new.user_id, display_prefix=new.display_prefix),
            ApiKeyUpdatedV1(api_key_id=old.id, user_id=old.user_id),
        ]
        await uow.outbox.stage([*events, *budget_events(new)])  # the new key inherits the budget
        detail = {"rotated_to": new.id, "grace_seconds": str(grace)}
        await uow.audit.record(key_entry(AuditEvent.KEY_ROTATED, actor_of(principal), old, detail=detail))
    await publish_now(ports, events[1:])
    if retired is None:
        raise ApiKeyNotFoundError(api_key_id)
    return issued, retired


async def _owned(uow: AccountsUnitOfWork, principal: Principal, api_key_id: str) -> ApiKey:
    # Someone else's key is "not found", exactly like a key that does not exist: ids leak nothing.
    key = await uow.account_keys.owned(principal.user_id, api_key_id)
    if key is None:
        raise ApiKeyNotFoundError(api_key_id)
    return key


def _settings_of(key: ApiKey) -> KeySettings:
    return KeySettings(
        name=key.name,
        scopes=key.scopes,
        allowed_models=key.allowed_models,
        expires_at=key.expires_at,
        ip_allowlist=key.ip_allowlist,
        spend_limit_day_micros=key.spend_limit_day_micros,
        spend_limit_month_micros=key.spend_limit_month_micros,
    )


def _checked_keep_expiry(settings: KeySettings) -> KeySettings:
    # An unchanged expiry may already be in the past (the key expired): that is no reason to refuse other changes.
    checked = checked_key_settings(msgspec.structs.replace(settings, expires_at=None), utc_now())
    return msgspec.structs.replace(checked, expires_at=settings.expires_at)
