"""Tables of the ``error_monitor`` schema (migrations in ``migrations/error_monitor``)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    func,
    text,
)

from tollway.platform.db import make_metadata
from tollway.platform.messaging import MessagingTables

metadata = make_metadata("error_monitor")
messaging = MessagingTables(metadata)

_ZERO = text("0")

errors = Table(
    "errors",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("event_id", String(64), nullable=False, unique=True),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("service", String(64), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("message", Text, nullable=False),
    Column("fingerprint", String(255), nullable=False, index=True),
    Column("subject", String(255)),
    Column("request_id", String(64)),
    Column("category", String(32), nullable=False, server_default="UNKNOWN"),
    Column("impact", String(16), nullable=False, server_default="medium"),
    Column("fixable", Boolean, nullable=False, server_default=text("false")),
    Column("pattern_id", String(32), nullable=False, server_default=""),
    Column("location", String(255), nullable=False, server_default=""),
    Column("provider", String(128)),
    Index("ix_errors_pattern_time", "pattern_id", "occurred_at"),
    Index("ix_errors_provider_time", "provider", "occurred_at"),
    Index("ix_errors_time", "occurred_at"),
)

# One row per fingerprint (normalised message + type + location): counts, classification, first and last seen.
patterns = Table(
    "patterns",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("service", String(64), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("location", String(255), nullable=False),
    Column("message", Text, nullable=False),  # normalised
    Column("example", Text, nullable=False),  # the latest raw message
    Column("category", String(32), nullable=False),
    Column("impact", String(16), nullable=False),
    Column("fixable", Boolean, nullable=False),
    Column("suggested_fix", Text),
    Column("count", BigInteger, nullable=False, server_default=_ZERO),
    Column("first_seen", DateTime(timezone=True), nullable=False),
    Column("last_seen", DateTime(timezone=True), nullable=False),
    Index("ix_patterns_impact_count", "impact", "count"),
    Index("ix_patterns_last_seen", "last_seen"),
)

# Attempts per provider per minute (served + failed): the window the error-rate rule reads.
provider_minutes = Table(
    "provider_minutes",
    metadata,
    Column("provider", String(128), nullable=False),
    Column("minute", DateTime(timezone=True), nullable=False),
    Column("attempts", BigInteger, nullable=False, server_default=_ZERO),
    Column("failures", BigInteger, nullable=False, server_default=_ZERO),
    Column("latency_ms_sum", BigInteger, nullable=False, server_default=_ZERO),
    PrimaryKeyConstraint("provider", "minute"),
)

# Consecutive outcomes per provider: the breaker-like rule (so many failures in a row) and recovery.
provider_health = Table(
    "provider_health",
    metadata,
    Column("provider", String(128), primary_key=True),
    Column("consecutive_failures", Integer, nullable=False, server_default=_ZERO),
    Column("consecutive_successes", Integer, nullable=False, server_default=_ZERO),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

incidents = Table(
    "incidents",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("subject", String(128), nullable=False),
    Column("provider", String(128)),
    Column("pattern_id", String(32)),
    Column("title", Text, nullable=False),
    Column("severity", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("ended_at", DateTime(timezone=True)),
    Column("duration_seconds", Integer),
    Column("resolved_by", String(255)),
    Column("notes", Text),
    Column("error_count", BigInteger, nullable=False, server_default=_ZERO),
    Column("reason", Text, nullable=False, server_default=""),
    # At most one ongoing incident per provider or pattern: concurrent workers cannot open two.
    Index("uq_incidents_ongoing_subject", "kind", "subject", unique=True, postgresql_where=text("status = 'ongoing'")),
    Index("ix_incidents_started", "started_at"),
)

# Advice a model gave operators about a pattern (through Tollway's own gateway); nothing here is ever applied.
fix_suggestions = Table(
    "fix_suggestions",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("pattern_id", String(32), nullable=False),
    Column("model", String(255), nullable=False),
    Column("suggestion", Text, nullable=False),
    Column("requested_by", String(255), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("idempotency_key", String(255), unique=True),
    Column("gateway_request_id", String(64)),
    Column("prompt_tokens", Integer, nullable=False, server_default=_ZERO),
    Column("completion_tokens", Integer, nullable=False, server_default=_ZERO),
    Index("ix_fix_suggestions_pattern_time", "pattern_id", "created_at"),
)
