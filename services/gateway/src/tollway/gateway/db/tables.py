"""Tables of the ``gateway`` schema (migrations in ``migrations/gateway``)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Table,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from tollway.platform.db import make_metadata
from tollway.platform.messaging import MessagingTables

metadata = make_metadata("gateway")
messaging = MessagingTables(metadata)

users = Table(
    "users",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("email", String(320), unique=True),  # stored lower-cased, so unique case-insensitively
    Column("display_name", String(200)),
    Column("routing_strategy", String(32), nullable=False, server_default="primary_first"),
    Column("is_active", Boolean, nullable=False, server_default=text("true")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("user_id", String(32), ForeignKey("gateway.users.id"), nullable=False, index=True),
    Column("digest", String(64), nullable=False, unique=True),  # HMAC-SHA256(pepper, key) hex; never the key
    Column("display_prefix", String(16), nullable=False),
    Column("name", String(200)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("expires_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
    Column("last_used_at", DateTime(timezone=True)),
)

# Per-key or per-user limits overriding the defaults; NULL means "use the default" for that dimension.
rate_limit_overrides = Table(
    "rate_limit_overrides",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("user_id", String(32), ForeignKey("gateway.users.id"), unique=True),
    Column("api_key_id", String(32), ForeignKey("gateway.api_keys.id"), unique=True),
    Column("rpm", Integer),
    Column("tpm", BigInteger),
    Column("rpd", Integer),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("num_nonnulls(user_id, api_key_id) = 1", name="one_subject"),
    CheckConstraint("rpm >= 0 AND tpm >= 0 AND rpd >= 0", name="non_negative"),
)

auth_audit = Table(
    "auth_audit",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("event", String(40), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("user_id", String(32)),
    Column("api_key_id", String(32)),
    Column("detail", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Index("ix_auth_audit_at", "at"),
)
