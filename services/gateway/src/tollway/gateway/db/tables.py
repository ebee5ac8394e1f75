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
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

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
    # Accounts (0003): argon2id hash (NULL: no password, e.g. CLI or external sign-in), role, external identity.
    Column("password_hash", String(200)),
    Column("role", String(16), nullable=False, server_default="user"),
    Column("external_subject", String(400), unique=True),  # "<issuer>|<sub>" of an external identity provider
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
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
    # Accounts (0003): what the key may do, from where, on which models, and how much it may spend.
    Column("scopes", ARRAY(String(16)), nullable=False, server_default=text("'{inference,read,account}'")),
    Column("allowed_models", ARRAY(String(200))),  # NULL: every model
    Column("ip_allowlist", ARRAY(String(64))),  # CIDRs; NULL: any address
    Column("spend_limit_day_micros", BigInteger),
    Column("spend_limit_month_micros", BigInteger),
    Column("rotated_to", String(32)),  # the key that replaced this one (it expires after the grace period)
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

# Sign-in sessions: the refresh token's digest rotates on every refresh; the previous one is kept to spot reuse.
sessions = Table(
    "sessions",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("user_id", String(32), ForeignKey("gateway.users.id"), nullable=False, index=True),
    Column("refresh_digest", String(64), nullable=False, unique=True),
    Column("previous_digest", String(64), index=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("refreshed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
)

password_resets = Table(
    "password_resets",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("user_id", String(32), ForeignKey("gateway.users.id"), nullable=False, index=True),
    Column("token_digest", String(64), nullable=False, unique=True),  # HMAC of the emailed token; never the token
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
)

# Mail waiting for the mailer role: written in the transaction that needs it; the body is erased once sent.
mail_outbox = Table(
    "mail_outbox",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("recipient", String(320), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("body", String),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("sent_at", DateTime(timezone=True)),
    Column("last_error", String(200)),
    Index("ix_mail_outbox_pending", "next_attempt_at", postgresql_where=text("sent_at IS NULL")),
)
