"""Rows of the accounts tables as the use cases see them: sessions, reset tokens, mail, audit, user filters."""

from __future__ import annotations

from datetime import datetime

import msgspec


class Session(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    user_id: str
    refresh_digest: str
    expires_at: datetime
    created_at: datetime | None = None
    revoked_at: datetime | None = None

    def is_live(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at


class SessionOwner(msgspec.Struct, frozen=True, kw_only=True):
    """A live session joined with its user: what an access token resolves to."""

    session_id: str
    user_id: str
    role: str
    is_active: bool


class PasswordReset(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    user_id: str
    expires_at: datetime
    used_at: datetime | None = None


class Mail(msgspec.Struct, frozen=True, kw_only=True):
    id: int = 0
    recipient: str
    subject: str
    body: str
    attempts: int = 0


class AuditRecord(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    at: datetime
    event: str
    actor: str
    user_id: str | None
    api_key_id: str | None
    detail: dict[str, str]


class UserFilter(msgspec.Struct, frozen=True, kw_only=True):
    email_contains: str | None = None
    role: str | None = None
    is_active: bool | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None


class UserStats(msgspec.Struct, frozen=True, kw_only=True):
    total: int
    active: int
    inactive: int
    by_role: dict[str, int]
    with_password: int
    external: int


class AccessClaims(msgspec.Struct, frozen=True, kw_only=True):
    user_id: str
    session_id: str


class ExternalClaims(msgspec.Struct, frozen=True, kw_only=True):
    """What a verified external ID token says about its holder."""

    issuer: str
    subject: str
    email: str | None = None
    email_verified: bool = False
    name: str | None = None
