"""The roles the accounts use cases depend on (ADR 009); ``db/``, ``sessions``, ``throttles`` implement them."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from tollway.gateway.domain.accounts import Cursor
from tollway.gateway.domain.accounts_records import (
    AccessClaims,
    AuditRecord,
    ExternalClaims,
    Mail,
    PasswordReset,
    Session,
    SessionOwner,
    UserFilter,
    UserStats,
)
from tollway.gateway.domain.api_keys import ApiKey, KeyDigester
from tollway.gateway.domain.users import User
from tollway.gateway.ports import EventPublisher, UnitOfWork


class AccountUsers(Protocol):
    async def add(self, user: User, *, password_hash: str | None, external_subject: str | None = None) -> bool: ...

    async def credentials(self, email: str) -> tuple[User, str | None] | None: ...

    async def by_external_subject(self, subject: str) -> User | None: ...

    async def link_external(self, user_id: str, subject: str) -> None: ...

    async def set_password(self, user_id: str, password_hash: str) -> None: ...

    async def update(self, user_id: str, changes: dict[str, Any]) -> User | None: ...

    async def page(self, where: UserFilter, after: Cursor | None, limit: int) -> list[User]: ...

    async def count(self, where: UserFilter) -> int: ...

    async def stats(self, where: UserFilter) -> UserStats: ...

    async def daily_signups(self, since: datetime) -> tuple[int, dict[str, int]]: ...

    async def in_domain(self, domain: str) -> list[User]: ...

    async def delete(self, user_ids: list[str]) -> int: ...


class AccountKeys(Protocol):
    async def owned(self, user_id: str, api_key_id: str) -> ApiKey | None: ...

    async def by_digest(self, digest: str) -> ApiKey | None: ...

    async def update(self, api_key_id: str, changes: dict[str, Any]) -> ApiKey | None: ...

    async def usable_ids(self, user_ids: list[str]) -> list[tuple[str, str]]: ...


class Sessions(Protocol):
    async def add(self, session: Session) -> None: ...

    async def owner(self, session_id: str, now: datetime) -> SessionOwner | None: ...

    async def by_refresh(self, digest: str) -> tuple[Session, bool] | None: ...

    async def rotate(self, session_id: str, old_digest: str, new_digest: str) -> bool: ...

    async def revoke(self, session_id: str, at: datetime) -> None: ...

    async def revoke_all(self, user_id: str, at: datetime) -> int: ...


class PasswordResets(Protocol):
    async def add(self, user_id: str, token_digest: str, expires_at: datetime) -> None: ...

    async def take(self, token_digest: str, now: datetime) -> PasswordReset | None: ...

    async def void_all(self, user_id: str, now: datetime) -> None: ...


class MailOutbox(Protocol):
    async def stage(self, mail: Mail) -> None: ...

    async def due(self, now: datetime, limit: int) -> list[Mail]: ...

    async def sent(self, mail_id: int, at: datetime) -> None: ...

    async def failed(self, mail_id: int, error: str, retry_at: datetime, give_up: bool) -> None: ...


class AuditLog(Protocol):
    async def page(
        self, after: Cursor | None, limit: int, *, user_id: str | None = None, event: str | None = None
    ) -> list[AuditRecord]: ...


class AccountsUnitOfWork(UnitOfWork, Protocol):
    @property
    def accounts(self) -> AccountUsers: ...

    @property
    def account_keys(self) -> AccountKeys: ...

    @property
    def sessions(self) -> Sessions: ...

    @property
    def password_resets(self) -> PasswordResets: ...

    @property
    def mail(self) -> MailOutbox: ...

    @property
    def audit_log(self) -> AuditLog: ...


class AccountsStore(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[AccountsUnitOfWork]: ...


class Throttle(Protocol):
    """Fixed-window attempt counters shared by every replica."""

    async def blocked_for(self, bucket: str, subject: str, limit: int) -> int:
        """Seconds until ``subject`` may try again (0: not blocked)."""
        ...

    async def hit(self, bucket: str, subject: str, window_s: int) -> None: ...

    async def clear(self, bucket: str, subject: str) -> None: ...


class AccessTokenIssuer(Protocol):
    ttl_s: int

    def issue(self, user_id: str, session_id: str) -> str: ...

    def verify(self, token: str) -> AccessClaims: ...


class ExternalTokenVerifier(Protocol):
    async def verify(self, id_token: str) -> ExternalClaims: ...


@dataclass(frozen=True)
class AccountPolicy:
    """Tunables of the account flows (``GATEWAY_*`` settings)."""

    session_ttl_s: int = 30 * 86_400
    reset_ttl_s: int = 1_800
    rotation_grace_s: int = 3_600
    login_max_failures: int = 5  # per account, per window
    login_max_per_address: int = 30  # attempts per client address, per window
    login_window_s: int = 900
    register_max_per_address: int = 10  # per hour
    reset_max_per_address: int = 5  # per hour
    public_url: str = "http://127.0.0.1:8080"


@dataclass(frozen=True)
class AccountPorts:
    store: AccountsStore
    digester: KeyDigester
    tokens: AccessTokenIssuer
    throttle: Throttle
    policy: AccountPolicy
    external: ExternalTokenVerifier | None = None
    fast_path: EventPublisher | None = None
