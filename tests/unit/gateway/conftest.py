"""In-memory fakes of the gateway's ports, with commit/rollback semantics like the real unit of work."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime

import msgspec
import pytest

from tollway.contracts import Event
from tollway.gateway.domain.api_keys import ApiKey, KeyDigester
from tollway.gateway.domain.audit import AuditEntry
from tollway.gateway.domain.identity import Identity
from tollway.gateway.domain.users import User
from tollway.gateway.keycache import KeyCache
from tollway.gateway.ports import IdentityLoader, KeyAuthPorts

PEPPER = "unit-test-pepper"


@dataclass
class State:
    users: dict[str, User] = field(default_factory=dict)
    keys: dict[str, ApiKey] = field(default_factory=dict)
    audit: list[AuditEntry] = field(default_factory=list)
    outbox: list[Event] = field(default_factory=list)


class FakeUsers:
    def __init__(self, state: State) -> None:
        self.state = state

    async def add(self, user: User) -> bool:
        if user.email is not None and any(u.email == user.email for u in self.state.users.values()):
            return False
        self.state.users[user.id] = user
        return True

    async def get(self, user_id: str) -> User | None:
        return self.state.users.get(user_id)

    async def get_by_email(self, email: str) -> User | None:
        return next((u for u in self.state.users.values() if u.email == email), None)


class FakeApiKeys:
    def __init__(self, state: State) -> None:
        self.state = state

    async def add(self, key: ApiKey) -> None:
        self.state.keys[key.id] = key

    async def get(self, api_key_id: str) -> ApiKey | None:
        return self.state.keys.get(api_key_id)

    async def list_for_user(self, user_id: str) -> list[ApiKey]:
        return [k for k in self.state.keys.values() if k.user_id == user_id]

    async def revoke(self, api_key_id: str, at: datetime) -> ApiKey | None:
        key = self.state.keys.get(api_key_id)
        if key is None or key.revoked_at is not None:
            return None
        self.state.keys[api_key_id] = msgspec.structs.replace(key, revoked_at=at)
        return self.state.keys[api_key_id]


class FakeAudit:
    def __init__(self, state: State) -> None:
        self.state = state

    async def record(self, entry: AuditEntry) -> None:
        self.state.audit.append(entry)


class FakeOutbox:
    def __init__(self, state: State) -> None:
        self.state = state

    async def stage(self, events: Sequence[Event]) -> None:
        self.state.outbox.extend(events)


class FakeUnitOfWork:
    def __init__(self, state: State) -> None:
        self.users = FakeUsers(state)
        self.api_keys = FakeApiKeys(state)
        self.audit = FakeAudit(state)
        self.outbox = FakeOutbox(state)


class FakeAccountStore:
    """Works on a copy of the state and keeps it only when the block exits normally."""

    def __init__(self) -> None:
        self.state = State()
        self.commits = 0

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[FakeUnitOfWork]:
        draft = copy.deepcopy(self.state)
        yield FakeUnitOfWork(draft)
        self.state = draft
        self.commits += 1

    def identity_of(self, digest: str) -> Identity | None:
        key = next((k for k in self.state.keys.values() if k.digest == digest and k.revoked_at is None), None)
        if key is None:
            return None
        user = self.state.users[key.user_id]
        return Identity(
            user_id=user.id,
            api_key_id=key.id,
            routing_strategy=user.routing_strategy,
            is_active=user.is_active,
            expires_at=key.expires_at,
        )


class FakeLookup:
    def __init__(self, store: FakeAccountStore) -> None:
        self.store = store
        self.queries = 0

    async def find_identity(self, digest: str) -> Identity | None:
        self.queries += 1
        return self.store.identity_of(digest)


class FakeUsage:
    def __init__(self) -> None:
        self.used: list[str] = []

    def note(self, api_key_id: str) -> None:
        self.used.append(api_key_id)


class ForbiddenCache:
    """A cache that fails the test if anyone touches it."""

    async def resolve(self, digest: str, load: IdentityLoader) -> Identity | None:
        raise AssertionError("the cache must not be consulted")


class RecordingPublisher:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.events: list[Event] = []

    async def publish(self, event: Event) -> object:
        if self.fail:
            raise ConnectionError("nats is down")
        self.events.append(event)
        return None


@pytest.fixture
def store() -> FakeAccountStore:
    return FakeAccountStore()


@pytest.fixture
def digester() -> KeyDigester:
    return KeyDigester(PEPPER)


@pytest.fixture
def lookup(store: FakeAccountStore) -> FakeLookup:
    return FakeLookup(store)


@pytest.fixture
def usage() -> FakeUsage:
    return FakeUsage()


@pytest.fixture
def auth(digester: KeyDigester, lookup: FakeLookup, usage: FakeUsage) -> KeyAuthPorts:
    return KeyAuthPorts(digester=digester, cache=KeyCache(), lookup=lookup, usage=usage)


@pytest.fixture
def publisher() -> RecordingPublisher:
    return RecordingPublisher()


@pytest.fixture
def broken_publisher() -> RecordingPublisher:
    return RecordingPublisher(fail=True)


@pytest.fixture
def forbidden_cache() -> ForbiddenCache:
    return ForbiddenCache()
