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


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True):
    event: AuditEvent
    actor: str
    user_id: str | None = None
    api_key_id: str | None = None
    detail: dict[str, str] = msgspec.field(default_factory=dict)
