"""SQLAlchemy repositories on the real ``gateway`` schema: constraints, revocation, identity lookup, usage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from tollway.gateway.db.repositories import SqlAlchemyIdentityLookup
from tollway.gateway.db.tables import api_keys, auth_audit, rate_limit_overrides
from tollway.gateway.db.uow import SqlAlchemyAccountStore
from tollway.gateway.domain.api_keys import ApiKey
from tollway.gateway.domain.audit import AuditEntry, AuditEvent
from tollway.gateway.domain.identity import Identity
from tollway.gateway.domain.users import User

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def a_user(user_id: str = "usr_1", email: str | None = "ada@example.com") -> User:
    return User(
        id=user_id, email=email, display_name="Ada", routing_strategy="cheapest", is_active=True, created_at=NOW
    )


def a_key(key_id: str = "key_1", digest: str = "a" * 64, **extra: object) -> ApiKey:
    return ApiKey(id=key_id, user_id="usr_1", digest=digest, display_prefix="tw_abcdefgh", created_at=NOW, **extra)  # type: ignore[arg-type]


async def test_users_round_trip_and_email_conflict_returns_false(store: SqlAlchemyAccountStore) -> None:
    async with store.transaction() as uow:
        assert await uow.users.add(a_user())
        assert not await uow.users.add(a_user("usr_2"))
        assert await uow.users.add(a_user("usr_3", email=None))
        assert await uow.users.add(a_user("usr_4", email=None))  # many users may have no email
    async with store.transaction() as uow:
        assert await uow.users.get("usr_1") == a_user()
        assert await uow.users.get_by_email("ada@example.com") == a_user()
        assert await uow.users.get("usr_2") is None


async def test_keys_list_and_revoke_once(store: SqlAlchemyAccountStore) -> None:
    async with store.transaction() as uow:
        await uow.users.add(a_user())
        await uow.api_keys.add(a_key("key_1", "a" * 64))
        await uow.api_keys.add(a_key("key_2", "b" * 64, name="ci"))
    async with store.transaction() as uow:
        revoked = await uow.api_keys.revoke("key_1", NOW)
        again = await uow.api_keys.revoke("key_1", NOW)
        missing = await uow.api_keys.revoke("key_x", NOW)
        listed = await uow.api_keys.list_for_user("usr_1")
    assert revoked is not None
    assert revoked.revoked_at == NOW
    assert (again, missing) == (None, None)
    assert [(k.id, k.revoked_at, k.name) for k in listed] == [("key_1", NOW, None), ("key_2", None, "ci")]


async def test_digest_is_unique(store: SqlAlchemyAccountStore) -> None:
    async with store.transaction() as uow:
        await uow.users.add(a_user())
        await uow.api_keys.add(a_key("key_1"))
    with pytest.raises(IntegrityError):
        async with store.transaction() as uow:
            await uow.api_keys.add(a_key("key_2"))


async def test_identity_lookup_joins_the_user_and_skips_revoked_keys(
    store: SqlAlchemyAccountStore, engine: AsyncEngine
) -> None:
    expiry = NOW + timedelta(days=30)
    async with store.transaction() as uow:
        await uow.users.add(a_user())
        await uow.api_keys.add(a_key("key_1", "a" * 64, expires_at=expiry))
        await uow.api_keys.add(a_key("key_2", "b" * 64))
        await uow.api_keys.revoke("key_2", NOW)
    lookup = SqlAlchemyIdentityLookup(engine)

    assert await lookup.find_identity("a" * 64) == Identity(
        user_id="usr_1", api_key_id="key_1", routing_strategy="cheapest", is_active=True, expires_at=expiry
    )
    assert await lookup.find_identity("b" * 64) is None
    assert await lookup.find_identity("c" * 64) is None


async def test_touch_only_moves_last_used_forward(store: SqlAlchemyAccountStore, engine: AsyncEngine) -> None:
    async with store.transaction() as uow:
        await uow.users.add(a_user())
        await uow.api_keys.add(a_key())
    await store.touch_keys({"key_1", "key_unknown"}, NOW)
    await store.touch_keys({"key_1"}, NOW - timedelta(hours=1))
    async with engine.connect() as conn:
        assert (await conn.execute(select(api_keys.c.last_used_at))).scalar_one() == NOW


async def test_audit_rows_hold_ids_and_detail(store: SqlAlchemyAccountStore, engine: AsyncEngine) -> None:
    entry = AuditEntry(event=AuditEvent.KEY_REVOKED, actor="cli", user_id="usr_1", api_key_id="key_1")
    async with store.transaction() as uow:
        await uow.audit.record(entry)
    async with engine.connect() as conn:
        row = (await conn.execute(select(auth_audit))).mappings().one()
    assert (row["event"], row["actor"], row["user_id"], row["api_key_id"], row["detail"]) == (
        "key_revoked",
        "cli",
        "usr_1",
        "key_1",
        {},
    )


@pytest.mark.parametrize(
    "values",
    [{"rpm": 10}, {"user_id": "usr_1", "api_key_id": "key_1", "rpm": 10}, {"user_id": "usr_1", "rpm": -1}],
)
async def test_rate_limit_overrides_need_exactly_one_subject_and_sane_limits(
    store: SqlAlchemyAccountStore, engine: AsyncEngine, values: dict[str, object]
) -> None:
    async with store.transaction() as uow:
        await uow.users.add(a_user())
        await uow.api_keys.add(a_key())
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(insert(rate_limit_overrides).values(**values))
    async with engine.begin() as conn:
        await conn.execute(insert(rate_limit_overrides).values(user_id="usr_1", rpm=60, tpm=None))
        await conn.execute(insert(rate_limit_overrides).values(api_key_id="key_1", rpd=1000))
