"""Auth audit entries: what happened to which subject, by whom; never a key or a digest."""

from __future__ import annotations

import enum

import msgspec


class AuditEvent(enum.StrEnum):
    USER_REGISTERED = "user_registered"
    KEY_CREATED = "key_created"
    KEY_REVOKED = "key_revoked"
    ADMIN_AUTH_FAILED = "admin_auth_failed"
    RATE_LIMITS_SET = "rate_limits_set"
    RATE_LIMITS_CLEARED = "rate_limits_cleared"
    # Accounts (ADR 009)
    LOGIN_SUCCEEDED = "login_succeeded"
    LOGIN_FAILED = "login_failed"
    REFRESH_REUSED = "refresh_token_reused"
    PASSWORD_RESET_REQUESTED = "password_reset_requested"  # noqa: S105 - an event name
    PASSWORD_RESET = "password_reset"  # noqa: S105
    PROFILE_UPDATED = "profile_updated"
    KEY_UPDATED = "key_updated"
    KEY_ROTATED = "key_rotated"
    USER_UPDATED = "user_updated"
    USER_DELETED = "user_deleted"


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True):
    event: AuditEvent
    actor: str
    user_id: str | None = None
    api_key_id: str | None = None
    detail: dict[str, str] = msgspec.field(default_factory=dict)
