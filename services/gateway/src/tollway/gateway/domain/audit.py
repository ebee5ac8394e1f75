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


class AdminFailureLog:
    """Which rejected admin attempts to audit: one row per (reason, address) a window, the repeats counted.

    Without it, anyone could write an audit row per request by presenting a wrong admin key.
    """

    def __init__(self, window_s: float = 60.0, max_entries: int = 10_000) -> None:
        self._window_s = window_s
        self._max_entries = max_entries
        self._entries: dict[tuple[str, str | None], tuple[float, int]] = {}  # key → (last recorded, repeats since)

    def note(self, key: tuple[str, str | None], now: float) -> int | None:
        """``None``: a repeat inside the window, not recorded; else record it with this many repeats before it."""
        entry = self._entries.get(key)
        if entry is not None and now - entry[0] < self._window_s:
            self._entries[key] = (entry[0], entry[1] + 1)
            return None
        if entry is None and len(self._entries) >= self._max_entries:
            self._entries.pop(next(iter(self._entries)))  # the oldest key; a bound, not a cache policy
        self._entries[key] = (now, 0)
        return 0 if entry is None else entry[1]
