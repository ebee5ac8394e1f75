"""JetStream streams and KV buckets declared by their producers (provisioned idempotently at start)."""

from __future__ import annotations

import msgspec

DAY_S = 86_400.0


class StreamSpec(msgspec.Struct, frozen=True, kw_only=True):
    """One stream per producer, capturing ``<producer>.>``."""

    name: str
    subjects: tuple[str, ...]
    max_age_s: float = 30 * DAY_S
    duplicate_window_s: float = 120.0
    description: str = ""


class KeyValueSpec(msgspec.Struct, frozen=True, kw_only=True):
    """A KV bucket; its owner writes, others watch read-only."""

    bucket: str
    history: int = 1
    description: str = ""


GATEWAY_STREAM = StreamSpec(name="GATEWAY", subjects=("gateway.>",), description="users, api keys, gateway errors")
ROUTER_STREAM = StreamSpec(name="ROUTER", subjects=("router.>",), description="one usage event per request")
BILLING_STREAM = StreamSpec(name="BILLING", subjects=("billing.>",), description="credit events for the billing team")
ANALYTICS_STREAM = StreamSpec(name="ANALYTICS", subjects=("analytics.>",), description="analytics errors")
ERROR_MONITOR_STREAM = StreamSpec(name="ERROR_MONITOR", subjects=("error_monitor.>",), description="incidents")

ALL_STREAMS: tuple[StreamSpec, ...] = (
    GATEWAY_STREAM,
    ROUTER_STREAM,
    BILLING_STREAM,
    ANALYTICS_STREAM,
    ERROR_MONITOR_STREAM,
)

BALANCES_BUCKET = KeyValueSpec(bucket="billing_balances", description="available balance per account, micro-USD")


class BalanceValue(msgspec.Struct, frozen=True):
    """What billing writes under each account id in the balances bucket; the gateway's credit gate reads it.

    ``version`` only grows: a reader keeps the value with the highest version, so replays and races are harmless.
    """

    balance_micros: int
    version: int


# The value shape of every bucket, by bucket name (snapshotted beside the event schemas).
BUCKET_VALUES: dict[str, type[msgspec.Struct]] = {BALANCES_BUCKET.bucket: BalanceValue}

ALL_BUCKETS: tuple[KeyValueSpec, ...] = (BALANCES_BUCKET,)
