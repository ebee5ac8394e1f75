"""Who a valid API key belongs to: what the hot path needs, cached per replica and forwarded signed."""

from __future__ import annotations

from datetime import datetime

import msgspec


class Identity(msgspec.Struct, frozen=True, kw_only=True):
    """An unrevoked key joined with its user (revoked keys never become identities)."""

    user_id: str
    api_key_id: str
    routing_strategy: str
    is_active: bool
    expires_at: datetime | None = None
    scopes: tuple[str, ...] = ("inference", "read", "account")
    allowed_models: tuple[str, ...] | None = None  # None: every model
    ip_allowlist: tuple[str, ...] | None = None  # CIDRs; None: any address
    spend_limit_day_micros: int | None = None  # the key's budgets (None: none), enforced at admission
    spend_limit_month_micros: int | None = None

    def is_usable(self, now: datetime) -> bool:
        """Active user and unexpired key; checked at every use since cached identities outlive ``now``."""
        return self.is_active and (self.expires_at is None or now < self.expires_at)
