"""Tables of the ``analytics`` schema (migrations in ``migrations/analytics``)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from tollway.analytics.domain.rollups import COUNTER_FIELDS
from tollway.platform.db import make_metadata
from tollway.platform.messaging import MessagingTables

metadata = make_metadata("analytics")
messaging = MessagingTables(metadata)

_ZERO = text("0")

# One row per request id, from router.request.completed.v1 (status ok|cancelled) or .failed.v1 (status failed).
requests = Table(
    "requests",
    metadata,
    Column("request_id", String(64), primary_key=True),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("status", String(16), nullable=False),
    Column("user_id", String(64)),
    Column("account_id", String(64)),
    Column("api_key_id", String(64)),
    Column("is_anonymous", Boolean, nullable=False),
    Column("requested_model", String(255), nullable=False),
    Column("provider", String(128)),
    Column("upstream_model", String(255)),
    Column("is_fallback", Boolean, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("failed_attempts", JSONB),
    Column("prompt_tokens", BigInteger, nullable=False),
    Column("completion_tokens", BigInteger, nullable=False),
    Column("cache_read_tokens", BigInteger, nullable=False),
    Column("cache_write_tokens", BigInteger, nullable=False),
    Column("reasoning_tokens", BigInteger, nullable=False),
    Column("usage_estimated", Boolean, nullable=False),
    Column("cost_micros", BigInteger, nullable=False),
    Column("latency_ms", Integer, nullable=False),
    Column("ttft_ms", Integer),
    Column("api", String(16), nullable=False),
    Column("stream", Boolean, nullable=False),
    Column("error_class", String(128)),
    Column("status_code", Integer),
    # Cursor pagination walks (occurred_at, request_id) within one user or one key.
    Index("ix_requests_user_time", "user_id", "occurred_at", "request_id"),
    Index("ix_requests_key_time", "api_key_id", "occurred_at", "request_id"),
    Index("ix_requests_model_time", "requested_model", "occurred_at"),
    Index("ix_requests_provider_time", "provider", "occurred_at"),
    # The operators' request monitor pages through everyone's requests, newest first, optionally by status.
    Index("ix_requests_time", "occurred_at", "request_id"),
    Index("ix_requests_status_time", "status", "occurred_at", "request_id"),
)

# The counters are the domain's: a new counter is a new field on ``Counters`` plus a migration.
_counters = [Column(name, BigInteger, nullable=False, server_default=_ZERO) for name in COUNTER_FIELDS]

# Hourly counters per (user, hour, api key, model, provider, is_fallback); "none" is stored as ''.
rollups = Table(
    "hourly_rollups",
    metadata,
    Column("user_id", String(64), nullable=False),
    Column("hour", DateTime(timezone=True), nullable=False),
    Column("api_key_id", String(64), nullable=False),
    Column("model", String(255), nullable=False),
    Column("provider", String(128), nullable=False),
    Column("is_fallback", Boolean, nullable=False),
    *_counters,
    PrimaryKeyConstraint("user_id", "hour", "api_key_id", "model", "provider", "is_fallback"),
    # Admin reports span every user; they select by hour first.
    Index("ix_hourly_rollups_hour", "hour"),
)

# Latency bucket counts per (hour, model, provider) (bounds in ``domain.latency``): percentiles without reading
# rows. Not per user or key: that would make it as large as the rollups times the buckets in use.
latency_histogram = Table(
    "latency_histogram",
    metadata,
    Column("hour", DateTime(timezone=True), nullable=False),
    Column("model", String(255), nullable=False),
    Column("provider", String(128), nullable=False),
    Column("bucket", SmallInteger, nullable=False),
    Column("count", BigInteger, nullable=False, server_default=_ZERO),
    PrimaryKeyConstraint("hour", "model", "provider", "bucket"),
)

# Feature flags: ``account_id = ''`` is the global value, any other an override for that account.
feature_flags = Table(
    "feature_flags",
    metadata,
    Column("name", String(64), nullable=False),
    Column("account_id", String(64), nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_by", String(255), nullable=False),
    PrimaryKeyConstraint("name", "account_id"),
)

# What providers' admin usage/cost APIs reported per (provider, model, UTC day), upserted on every import.
provider_usage = Table(
    "provider_usage",
    metadata,
    Column("provider", String(128), nullable=False),
    Column("model", String(255), nullable=False),
    Column("day", Date, nullable=False),
    *[
        Column(name, BigInteger, nullable=False, server_default=_ZERO)
        for name in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "cost_micros")
    ],
    Column("imported_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("provider", "model", "day"),
    Index("ix_provider_usage_day", "day"),
)

# The last day each provider's usage was imported through: an import without ``from`` resumes there.
import_cursors = Table(
    "import_cursors",
    metadata,
    Column("provider", String(128), primary_key=True),
    Column("last_day", Date, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
