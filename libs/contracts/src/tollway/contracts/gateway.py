"""Events published by the gateway: users and API keys (for billing accounts and cache invalidation)."""

from __future__ import annotations

from tollway.contracts.base import Event


class UserRegisteredV1(Event, frozen=True, kw_only=True, tag="gateway.user.registered.v1"):
    """A user was created; billing opens their account (with trial credit) on this event."""

    user_id: str
    email: str | None = None
    display_name: str | None = None
    is_trial_eligible: bool = True


class ApiKeyCreatedV1(Event, frozen=True, kw_only=True, tag="gateway.api_key.created.v1"):
    """An API key was issued; only its id and display prefix travel, never the key or its digest."""

    api_key_id: str
    user_id: str
    display_prefix: str


class ApiKeyRevokedV1(Event, frozen=True, kw_only=True, tag="gateway.api_key.revoked.v1"):
    """An API key was revoked; every gateway replica drops it from its cache on this event."""

    api_key_id: str
    user_id: str


class ApiKeyUpdatedV1(Event, frozen=True, kw_only=True, tag="gateway.api_key.updated.v1"):
    """A key's attributes changed (scopes, models, IP allowlist, expiry, rotation, its user's status).

    Every gateway replica drops the key from its cache and reads the new row on its next use.
    """

    api_key_id: str
    user_id: str


class UserDeletedV1(Event, frozen=True, kw_only=True, tag="gateway.user.deleted.v1"):
    """A user was deleted by an operator; other services erase or anonymise what they hold about them."""

    user_id: str
    reason: str = "admin_deleted"


class ApiKeyBudgetChangedV1(Event, frozen=True, kw_only=True, tag="gateway.api_key.budget_changed.v1"):
    """A key was issued with, or changed, its spend limits (``None``: no limit); billing tracks its spend by it.

    Carries the whole budget, not a diff; of two changes of one key the later ``occurred_at`` wins.
    """

    api_key_id: str
    user_id: str
    spend_limit_day_micros: int | None = None
    spend_limit_month_micros: int | None = None
