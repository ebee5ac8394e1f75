"""``authenticate_key``: offline rejection first, then cache, then one lookup; unusable identities fail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import msgspec
import pytest

from tollway.gateway import handlers
from tollway.gateway.domain import api_keys
from tollway.gateway.domain.api_keys import KeyDigester
from tollway.gateway.domain.users import NewUser
from tollway.gateway.ports import KeyAuthPorts

if TYPE_CHECKING:
    from tests.unit.gateway.conftest import FakeAccountStore, FakeLookup, FakeUsage, ForbiddenCache

ACTOR = "test"


async def issue(store: FakeAccountStore, digester: KeyDigester) -> tuple[str, str]:
    user = await handlers.register_user(store, NewUser(email="ada@example.com"), actor=ACTOR)
    issued = await handlers.create_api_key(store, digester, user.id, actor=ACTOR)
    return issued.plaintext, issued.api_key.id


def bad_checksum() -> str:
    key = api_keys.generate_key()
    return key[:-1] + ("0" if key[-1] != "0" else "1")


@pytest.mark.parametrize(
    "bad",
    ["", "tw_short", "Bearer tw_x", bad_checksum(), "sk-" + "a" * 46],
    ids=["empty", "short", "with_scheme", "bad_checksum", "other_vendor"],
)
async def test_malformed_or_bad_checksum_is_rejected_before_any_lookup(
    bad: str, digester: KeyDigester, lookup: FakeLookup, usage: FakeUsage, forbidden_cache: ForbiddenCache
) -> None:
    ports = KeyAuthPorts(digester=digester, cache=forbidden_cache, lookup=lookup, usage=usage)
    assert await handlers.authenticate_key(bad, ports) is None
    assert lookup.queries == 0


async def test_a_valid_key_authenticates_and_a_warm_one_skips_the_lookup(
    store: FakeAccountStore, digester: KeyDigester, auth: KeyAuthPorts, lookup: FakeLookup, usage: FakeUsage
) -> None:
    key, key_id = await issue(store, digester)

    identities = [await handlers.authenticate_key(key, auth) for _ in range(5)]

    assert all(i is not None and i.api_key_id == key_id for i in identities)
    assert identities[0] is not None
    assert identities[0].routing_strategy == "primary_first"
    assert lookup.queries == 1
    assert usage.used == [key_id] * 5


async def test_an_unknown_well_formed_key_is_negatively_cached(auth: KeyAuthPorts, lookup: FakeLookup) -> None:
    key = api_keys.generate_key()
    assert [await handlers.authenticate_key(key, auth) for _ in range(3)] == [None] * 3
    assert lookup.queries == 1


async def test_revoked_key_fails_once_evicted(
    store: FakeAccountStore, digester: KeyDigester, auth: KeyAuthPorts
) -> None:
    key, key_id = await issue(store, digester)
    assert await handlers.authenticate_key(key, auth) is not None

    await handlers.revoke_api_key(store, key_id, actor=ACTOR)
    auth.cache.evict_key(key_id)  # type: ignore[attr-defined]  # what the revocation listener does

    assert await handlers.authenticate_key(key, auth) is None


async def test_expired_key_or_inactive_user_fails(
    store: FakeAccountStore, digester: KeyDigester, auth: KeyAuthPorts
) -> None:
    key, key_id = await issue(store, digester)
    past = datetime.now(UTC) - timedelta(seconds=1)
    store.state.keys[key_id] = msgspec.structs.replace(store.state.keys[key_id], expires_at=past)
    assert await handlers.authenticate_key(key, auth) is None

    other, _ = await issue_for_inactive(store, digester)
    assert await handlers.authenticate_key(other, auth) is None


async def issue_for_inactive(store: FakeAccountStore, digester: KeyDigester) -> tuple[str, str]:
    user = await handlers.register_user(store, NewUser(email="off@example.com"), actor=ACTOR)
    store.state.users[user.id] = msgspec.structs.replace(user, is_active=False)
    issued = await handlers.create_api_key(store, digester, user.id, actor=ACTOR)
    return issued.plaintext, issued.api_key.id
