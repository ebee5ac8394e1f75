"""The roles the gateway's use cases depend on; ``db/``, ``keycache`` and ``bootstrap`` provide implementations."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from tollway.contracts import Event
from tollway.gateway.domain.admission import AdmissionPlan, BudgetWindow, Decision, WindowState
from tollway.gateway.domain.api_keys import ApiKey, KeyDigester
from tollway.gateway.domain.audit import AuditEntry
from tollway.gateway.domain.catalog import Catalogue
from tollway.gateway.domain.identity import Identity
from tollway.gateway.domain.ratelimits import LimitOverride, Limits, Periods, Subject
from tollway.gateway.domain.users import User


class Users(Protocol):
    async def add(self, user: User) -> bool:
        """Insert ``user``; ``False`` (and nothing written) when its email is already taken."""
        ...

    async def get(self, user_id: str) -> User | None: ...

    async def get_by_email(self, email: str) -> User | None: ...


class ApiKeys(Protocol):
    async def add(self, key: ApiKey) -> None: ...

    async def get(self, api_key_id: str) -> ApiKey | None: ...

    async def list_for_user(self, user_id: str) -> list[ApiKey]: ...

    async def revoke(self, api_key_id: str, at: datetime) -> ApiKey | None:
        """Mark revoked and return the key; ``None`` when it does not exist or was already revoked."""
        ...


class AuthAudit(Protocol):
    async def record(self, entry: AuditEntry) -> None: ...


class Outbox(Protocol):
    async def stage(self, events: Sequence[Event]) -> None:
        """Stage events in the current transaction: published if, and only if, it commits."""
        ...


class RateLimitOverrides(Protocol):
    async def get(self, subject: Subject, subject_id: str) -> LimitOverride | None: ...

    async def put(self, subject: Subject, subject_id: str, override: LimitOverride) -> None:
        """Insert or replace the override of one user or key."""
        ...

    async def delete(self, subject: Subject, subject_id: str) -> bool:
        """``True`` when there was an override to delete."""
        ...


class UnitOfWork(Protocol):
    """One transaction's view of the gateway's tables."""

    @property
    def users(self) -> Users: ...

    @property
    def api_keys(self) -> ApiKeys: ...

    @property
    def audit(self) -> AuthAudit: ...

    @property
    def outbox(self) -> Outbox: ...

    @property
    def rate_limits(self) -> RateLimitOverrides: ...


class AccountStore(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[UnitOfWork]:
        """Commit when the block exits normally, roll back when it raises."""
        ...


class IdentityLookup(Protocol):
    async def find_identity(self, digest: str) -> Identity | None:
        """The identity of the unrevoked key with this digest, or ``None``."""
        ...


IdentityLoader = Callable[[str], Awaitable[Identity | None]]


class IdentityCache(Protocol):
    async def resolve(self, digest: str, load: IdentityLoader) -> Identity | None:
        """The cached answer for ``digest`` (including a cached "unknown"), else ``load(digest)``, remembered."""
        ...


class KeyUsage(Protocol):
    def note(self, api_key_id: str) -> None:
        """Remember that a key was used (flushed to ``last_used_at`` in batches, off the request path)."""
        ...


class EventPublisher(Protocol):
    async def publish(self, event: Event) -> object: ...


@dataclass(frozen=True)
class KeyAuthPorts:
    """Everything ``authenticate_key`` needs, built once per process."""

    digester: KeyDigester
    cache: IdentityCache
    lookup: IdentityLookup
    usage: KeyUsage


class Admission(Protocol):
    """The one atomic check-and-charge of a request's rate-limit windows and credit hold, and its settlement."""

    async def admit(self, plan: AdmissionPlan) -> Decision:
        """Raises ``ServiceUnavailableError`` when the shared state cannot be reached and the policy is fail-closed."""
        ...

    async def settle(self, plan: AdmissionPlan, cost_micros: int | None, token_delta: int | None) -> None: ...

    async def peek(self, plan: AdmissionPlan) -> tuple[WindowState, ...] | None:
        """The state of ``plan``'s windows without charging them; ``None`` when it cannot be read."""
        ...

    async def key_spend(self, account: str, api_key_id: str, periods: Mapping[BudgetWindow, str]) -> dict[str, int]:
        """A key's counted spend per budget window (settled costs plus open holds)."""
        ...


class CatalogueSource(Protocol):
    def current(self) -> Catalogue | None:
        """The last catalogue fetched from the router; ``None`` until the first fetch succeeded."""
        ...


class Balances(Protocol):
    def is_loaded(self) -> bool: ...

    def balance_of(self, user_id: str) -> int: ...


class LimitSource(Protocol):
    periods: Periods
    anonymous: Limits

    def for_key(self, api_key_id: str) -> Limits: ...

    def for_user(self, user_id: str) -> Limits: ...


@dataclass(frozen=True)
class AdmissionPorts:
    """What admitting and settling a public request needs, all in memory except ``admission``."""

    catalogue: CatalogueSource
    balances: Balances
    limits: LimitSource
    admission: Admission
