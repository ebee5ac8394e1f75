"""Tables of the ``billing`` schema (migrations in ``migrations/billing``): accounts, ledger, keys, coupons."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from tollway.billing.domain.ledger import TRANSACTION_TYPES
from tollway.platform.db import make_metadata
from tollway.platform.messaging import MessagingTables

metadata = make_metadata("billing")
messaging = MessagingTables(metadata)

accounts = Table(
    "accounts",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("user_id", String(64), nullable=False, unique=True),
    # A cached sum of the account's transactions, written only in the transaction that inserts them.
    Column("balance_micros", BigInteger, nullable=False, server_default=text("0")),
    # The seq of the account's latest transaction: the balances bucket's monotonic version.
    Column("version", BigInteger, nullable=False, server_default=text("0")),
    Column("trial_expires_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_accounts_trial_due", "trial_expires_at", postgresql_where=text("trial_expires_at IS NOT NULL")),
)

ADMIN_CREDIT_PREDICATE = "type IN ('grant', 'adjustment') AND amount_micros > 0"
_types = ", ".join(f"'{t}'" for t in TRANSACTION_TYPES)

transactions = Table(
    "transactions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("account_id", String(40), ForeignKey(accounts.c.id), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("type", String(16), nullable=False),
    Column("amount_micros", BigInteger, nullable=False),
    Column("balance_after_micros", BigInteger, nullable=False),
    Column("reference", String(320), nullable=False, unique=True),
    Column("description", Text, nullable=False, server_default=""),
    Column("metadata", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True)),
    UniqueConstraint("account_id", "seq"),
    CheckConstraint(f"type IN ({_types})", name="type"),
    Index("ix_transactions_account_created", "account_id", "created_at", "id"),
    Index(
        "ix_transactions_admin_credit",
        "created_at",
        postgresql_where=text(ADMIN_CREDIT_PREDICATE),
    ),
    # The operator's transaction list: keyset pages over the whole ledger by time, type or amount.
    Index("ix_transactions_created", "created_at", "id"),
    Index("ix_transactions_type_created", "type", "created_at", "id"),
    Index("ix_transactions_amount", "amount_micros", "id"),
    # Refund caps sum the refunds of one charge.
    Index(
        "ix_transactions_refunded",
        text("(metadata->>'refunded_transaction_id')"),
        postgresql_where=text("type = 'refund'"),
    ),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    # NULL only inside the claiming transaction; others wait for its commit before they read the row.
    Column("response", LargeBinary),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

coupons = Table(
    "coupons",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("code", String(50), nullable=False, unique=True),  # stored upper-case: codes match case-insensitively
    Column("value_micros", BigInteger, nullable=False),
    Column("scope", String(16), nullable=False),
    Column("coupon_type", String(16), nullable=False, server_default="promotional"),
    Column("max_uses", BigInteger),  # NULL: no limit
    # Bumped in the redemption's transaction, under the coupon's row lock; the CHECK backs up max_uses.
    Column("times_used", BigInteger, nullable=False, server_default=text("0")),
    Column("assigned_user_id", String(64)),
    Column("valid_from", DateTime(timezone=True), nullable=False),
    Column("valid_until", DateTime(timezone=True)),
    Column("is_active", Boolean, nullable=False, server_default=text("true")),
    Column("description", Text, nullable=False, server_default=""),
    Column("created_by", String(64), nullable=False, server_default=""),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("times_used >= 0 AND (max_uses IS NULL OR times_used <= max_uses)", name="uses"),
    Index("ix_coupons_created", "created_at", "id"),
    Index("ix_coupons_assigned", "assigned_user_id", postgresql_where=text("assigned_user_id IS NOT NULL")),
)

coupon_redemptions = Table(
    "coupon_redemptions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("coupon_id", String(40), ForeignKey(coupons.c.id), nullable=False),
    Column("user_id", String(64), nullable=False),
    Column("account_id", String(40), ForeignKey(accounts.c.id), nullable=False),
    Column("transaction_id", String(40), ForeignKey(transactions.c.id), nullable=False, unique=True),
    Column("value_micros", BigInteger, nullable=False),
    Column("balance_before_micros", BigInteger, nullable=False),
    Column("balance_after_micros", BigInteger, nullable=False),
    Column("redeemed_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("coupon_id", "user_id"),  # once per user, whatever the races
    Index("ix_coupon_redemptions_user", "user_id", "redeemed_at", "id"),
)

# The limits of each key as the gateway announces them (gateway.api_key.budget_changed.v1); a later change wins.
key_budgets = Table(
    "key_budgets",
    metadata,
    Column("api_key_id", String(64), primary_key=True),
    Column("user_id", String(64), nullable=False),
    Column("day_limit_micros", BigInteger),  # NULL: no daily limit
    Column("month_limit_micros", BigInteger),
    Column("changed_at", DateTime(timezone=True), nullable=False),  # the announcement's occurred_at
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# A budgeted key's usage per UTC day and month, moved in each debit's transaction under its account's lock;
# ``exceeded_event_id`` is set once, with the billing.budget.exceeded.v1 staged in the same transaction.
key_spend = Table(
    "key_spend",
    metadata,
    Column("api_key_id", String(64), primary_key=True),
    Column("budget_window", String(8), primary_key=True),
    Column("period", String(8), primary_key=True),  # 20261203 (day) or 202612 (month), as the gateway names it
    Column("account_id", String(40), ForeignKey(accounts.c.id), nullable=False),
    Column("spent_micros", BigInteger, nullable=False),
    Column("limit_micros", BigInteger),  # in force at the period's latest debit (NULL: none)
    Column("exceeded_event_id", String(64), unique=True),
    Column("exceeded_transaction_id", String(40)),
    Column("exceeded_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("budget_window IN ('day', 'month')", name="budget_window"),
    CheckConstraint("spent_micros >= 0", name="spent_not_negative"),
)
