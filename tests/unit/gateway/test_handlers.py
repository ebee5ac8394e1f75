"""Use cases against in-memory ports: events staged with their row change, keys stored only as digests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import msgspec
import pytest

from tollway.contracts import ApiKeyCreatedV1, ApiKeyRevokedV1, UserRegisteredV1
from tollway.gateway import handlers
from tollway.gateway.domain.api_keys import KeyDigester
from tollway.gateway.domain.audit import AdminFailureLog, AuditEvent
from tollway.gateway.domain.errors import ApiKeyNotFoundError, EmailTakenError, InvalidInputError, UserNotFoundError
from tollway.gateway.domain.users import NewUser, User

if TYPE_CHECKING:
    from tests.unit.gateway.conftest import FakeAccountStore, RecordingPublisher

ACTOR = "test"


async def a_user(store: FakeAccountStore, email: str | None = "ada@example.com") -> User:
    return await handlers.register_user(store, NewUser(email=email, display_name="Ada"), actor=ACTOR)


async def test_register_user_stages_the_event_and_audits(store: FakeAccountStore) -> None:
    user = await a_user(store)

    assert user.id.startswith("usr_")
    assert store.state.users == {user.id: user}
    (event,) = store.state.outbox
    assert isinstance(event, UserRegisteredV1)
    assert (event.user_id, event.email, event.display_name) == (user.id, "ada@example.com", "Ada")
    assert [a.event for a in store.state.audit] == [AuditEvent.USER_REGISTERED]


async def test_duplicate_email_is_a_conflict_and_stages_nothing(store: FakeAccountStore) -> None:
    await a_user(store)
    with pytest.raises(EmailTakenError):
        await a_user(store, "ADA@example.com")
    assert len(store.state.users) == 1
    assert len(store.state.outbox) == 1


async def test_invalid_input_writes_nothing(store: FakeAccountStore) -> None:
    with pytest.raises(InvalidInputError):
        await a_user(store, "nope")
    assert store.commits == 0


async def test_ensure_user_is_idempotent(store: FakeAccountStore) -> None:
    first = await handlers.ensure_user(store, NewUser(email="demo@tollway.local"), actor=ACTOR)
    second = await handlers.ensure_user(store, NewUser(email="Demo@Tollway.local"), actor=ACTOR)
    assert first == second
    assert len(store.state.outbox) == 1


async def test_create_api_key_stores_only_digest_and_prefix(store: FakeAccountStore, digester: KeyDigester) -> None:
    user = await a_user(store)

    issued = await handlers.create_api_key(store, digester, user.id, actor=ACTOR, name=" ci ")

    stored = store.state.keys[issued.api_key.id]
    assert stored.digest == digester.digest(issued.plaintext)
    assert stored.display_prefix == issued.plaintext[:11]
    assert stored.name == "ci"
    assert issued.plaintext not in msgspec.json.encode(store.state).decode()
    event = store.state.outbox[-1]
    assert isinstance(event, ApiKeyCreatedV1)
    assert (event.api_key_id, event.user_id, event.display_prefix) == (stored.id, user.id, stored.display_prefix)
    assert store.state.audit[-1].event == AuditEvent.KEY_CREATED


async def test_create_api_key_for_unknown_user_is_not_found(store: FakeAccountStore, digester: KeyDigester) -> None:
    with pytest.raises(UserNotFoundError):
        await handlers.create_api_key(store, digester, "usr_missing", actor=ACTOR)
    assert store.state.keys == {}
    assert store.state.outbox == []


async def test_expiry_must_be_in_the_future(store: FakeAccountStore, digester: KeyDigester) -> None:
    user = await a_user(store)
    with pytest.raises(InvalidInputError):
        await handlers.create_api_key(
            store, digester, user.id, actor=ACTOR, expires_at=datetime(2020, 1, 1, tzinfo=UTC)
        )


async def test_list_api_keys(store: FakeAccountStore, digester: KeyDigester) -> None:
    user = await a_user(store)
    issued = [await handlers.create_api_key(store, digester, user.id, actor=ACTOR) for _ in range(2)]
    keys = await handlers.list_api_keys(store, user.id)
    assert [k.id for k in keys] == [i.api_key.id for i in issued]
    with pytest.raises(UserNotFoundError):
        await handlers.list_api_keys(store, "usr_missing")


async def test_revoke_stages_one_event_and_is_idempotent(store: FakeAccountStore, digester: KeyDigester) -> None:
    user = await a_user(store)
    issued = await handlers.create_api_key(store, digester, user.id, actor=ACTOR)

    first = await handlers.revoke_api_key(store, issued.api_key.id, actor=ACTOR)
    second = await handlers.revoke_api_key(store, issued.api_key.id, actor=ACTOR)

    assert first.revoked_at is not None
    assert second.revoked_at == first.revoked_at
    revoked = [e for e in store.state.outbox if isinstance(e, ApiKeyRevokedV1)]
    assert [(e.api_key_id, e.user_id) for e in revoked] == [(issued.api_key.id, user.id)]
    with pytest.raises(ApiKeyNotFoundError):
        await handlers.revoke_api_key(store, "key_missing", actor=ACTOR)


async def test_revoke_publishes_the_staged_event_after_commit(
    store: FakeAccountStore, digester: KeyDigester, publisher: RecordingPublisher
) -> None:
    user = await a_user(store)
    issued = await handlers.create_api_key(store, digester, user.id, actor=ACTOR)

    await handlers.revoke_api_key(store, issued.api_key.id, actor=ACTOR, fast_path=publisher)

    (published,) = publisher.events
    assert published == store.state.outbox[-1]  # same event id: JetStream drops the relay's copy


async def test_a_failed_fast_path_still_revokes(
    store: FakeAccountStore, digester: KeyDigester, broken_publisher: RecordingPublisher
) -> None:
    user = await a_user(store)
    issued = await handlers.create_api_key(store, digester, user.id, actor=ACTOR)

    key = await handlers.revoke_api_key(store, issued.api_key.id, actor=ACTOR, fast_path=broken_publisher)

    assert key.revoked_at is not None
    assert isinstance(store.state.outbox[-1], ApiKeyRevokedV1)


def test_repeated_admin_auth_failures_are_recorded_once_a_window_with_the_count_left_out() -> None:
    log = AdminFailureLog(window_s=60)
    first = log.note(("mismatch", "10.0.0.1"), now=0.0)
    repeats = [log.note(("mismatch", "10.0.0.1"), now=t) for t in (1.0, 30.0)]
    other = log.note(("missing", "10.0.0.1"), now=31.0)
    after = log.note(("mismatch", "10.0.0.1"), now=61.0)
    assert (first, repeats, other, after) == (0, [None, None], 0, 2)


async def test_admin_auth_failures_are_audited_without_the_credential(store: FakeAccountStore) -> None:
    await handlers.record_admin_auth_failure(store, "mismatch", "10.0.0.1")
    (entry,) = store.state.audit
    assert (entry.event, entry.detail) == (AuditEvent.ADMIN_AUTH_FAILED, {"reason": "mismatch", "source": "10.0.0.1"})
