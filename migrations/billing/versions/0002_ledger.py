"""ledger: accounts, transactions, idempotency keys

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 14:59:59.445556
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("balance_micros", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("version", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("trial_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("user_id", name=op.f("uq_accounts_user_id")),
        schema="billing",
    )
    op.create_index(
        "ix_accounts_trial_due",
        "accounts",
        ["trial_expires_at"],
        unique=False,
        schema="billing",
        postgresql_where=sa.text("trial_expires_at IS NOT NULL"),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("response", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_idempotency_keys")),
        schema="billing",
    )
    op.create_table(
        "transactions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("amount_micros", sa.BigInteger(), nullable=False),
        sa.Column("balance_after_micros", sa.BigInteger(), nullable=False),
        sa.Column("reference", sa.String(length=320), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "metadata", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "type IN ('trial', 'grant', 'purchase', 'usage', 'refund', 'adjustment', 'coupon', 'expiry')",
            name=op.f("ck_transactions_type"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["billing.accounts.id"], name=op.f("fk_transactions_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transactions")),
        sa.UniqueConstraint("account_id", "seq", name=op.f("uq_transactions_account_id_seq")),
        sa.UniqueConstraint("reference", name=op.f("uq_transactions_reference")),
        schema="billing",
    )
    op.create_index(
        "ix_transactions_account_created",
        "transactions",
        ["account_id", "created_at", "id"],
        unique=False,
        schema="billing",
    )
    op.create_index(
        "ix_transactions_admin_credit",
        "transactions",
        ["created_at"],
        unique=False,
        schema="billing",
        postgresql_where=sa.text("type IN ('grant', 'adjustment') AND amount_micros > 0"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_transactions_admin_credit",
        table_name="transactions",
        schema="billing",
        postgresql_where=sa.text("type IN ('grant', 'adjustment') AND amount_micros > 0"),
    )
    op.drop_index("ix_transactions_account_created", table_name="transactions", schema="billing")
    op.drop_table("transactions", schema="billing")
    op.drop_table("idempotency_keys", schema="billing")
    op.drop_index(
        "ix_accounts_trial_due",
        table_name="accounts",
        schema="billing",
        postgresql_where=sa.text("trial_expires_at IS NOT NULL"),
    )
    op.drop_table("accounts", schema="billing")
