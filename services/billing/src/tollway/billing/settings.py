"""Billing settings, loaded once per process from ``BILLING_*`` environment variables (money in micro-USD)."""

from __future__ import annotations

from tollway.platform.settings import InfraSettings, load_settings

ENV_PREFIX = "BILLING_"


class BillingSettings(InfraSettings, frozen=True, kw_only=True):
    port: int = 8082
    trial_micros: int = 5_000_000  # $5.00 for every trial-eligible new user
    trial_days: int = 3
    low_balance_micros: int = 1_000_000  # billing.balance.low.v1 when a balance drops below $1.00
    overspend_bound_micros: int = 1_000_000  # `verify` fails when any balance went below -$1.00
    max_grant_micros: int = 1_000_000_000  # one admin grant or adjustment: at most $1,000
    admin_daily_limit_micros: int = 10_000_000_000  # all admin credit per UTC day: at most $10,000
    usage_batch_size: int = 1000  # usage events per fetch, settled in one Postgres transaction
    usage_ack_wait_s: float = 30.0  # a batch unacked this long (e.g. its worker died) is redelivered
    # Fetch loops per worker. More than one shares a NATS connection, where nats-py's fetch then raises stray
    # timeouts (re-subscribes with growing back-off): scale with worker processes instead.
    usage_consumers: int = 1
    kv_flush_s: float = 0.5  # the worker writes a busy account's balance at most once per interval
    kv_resync_s: float = 300.0  # full rewrite of the balances bucket (also at worker start)
    expiry_sweep_s: float = 60.0  # how often the worker expires unused trial credit


def load() -> BillingSettings:
    return load_settings(BillingSettings, ENV_PREFIX)
