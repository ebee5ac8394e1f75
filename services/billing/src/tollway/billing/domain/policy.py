"""The configured money rules every use case applies (built from settings in bootstrap)."""

from __future__ import annotations

import msgspec


class BillingPolicy(msgspec.Struct, frozen=True, kw_only=True):
    trial_micros: int = 5_000_000
    trial_days: int = 3
    low_balance_micros: int = 1_000_000
    overspend_bound_micros: int = 1_000_000
    max_grant_micros: int = 1_000_000_000
    admin_daily_limit_micros: int = 10_000_000_000
