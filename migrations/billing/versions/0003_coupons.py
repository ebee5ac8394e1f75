"""coupons and their redemptions; indexes for the operator's transaction list and refund caps

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 08:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "coupons",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("code", sa.String(length=50), nullable=False),
        sa.Column("value_micros", sa.BigInteger(), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("coupon_type", sa.String(length=16), server_default="promotional", nullable=False),
        sa.Column("max_uses", sa.BigInteger(), nullable=True),
        sa.Column("times_used", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("assigned_user_id", sa.String(length=64), nullable=True),
        sa.Column("valid_from", TZ, nullable=False),
        sa.Column("valid_until", TZ, nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("created_by", sa.String(length=64), server_default="", nullable=False),
        sa.Column("created_at", TZ, server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", TZ, server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("value_micros > 0", name=op.f("ck_coupons_value_positive")),
        sa.CheckConstraint("scope IN ('global', 'user_specific', 'first_purchase')", name=op.f("ck_coupons_scope")),
        sa.CheckConstraint(
            "times_used >= 0 AND (max_uses IS NULL OR times_used <= max_uses)", name=op.f("ck_coupons_uses")
        ),
        sa.CheckConstraint("code = upper(code)", name=op.f("ck_coupons_code_upper")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupons")),
        sa.UniqueConstraint("code", name=op.f("uq_coupons_code")),
        schema="billing",
    )
    op.create_index("ix_coupons_created", "coupons", ["created_at", "id"], schema="billing")
    op.create_index(
        "ix_coupons_assigned",
        "coupons",
        ["assigned_user_id"],
        schema="billing",
        postgresql_where=sa.text("assigned_user_id IS NOT NULL"),
    )
    op.create_table(
        "coupon_redemptions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("coupon_id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("transaction_id", sa.String(length=40), nullable=False),
        sa.Column("value_micros", sa.BigInteger(), nullable=False),
        sa.Column("balance_before_micros", sa.BigInteger(), nullable=False),
        sa.Column("balance_after_micros", sa.BigInteger(), nullable=False),
        sa.Column("redeemed_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(
            ["coupon_id"], ["billing.coupons.id"], name=op.f("fk_coupon_redemptions_coupon_id_coupons")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["billing.accounts.id"], name=op.f("fk_coupon_redemptions_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["billing.transactions.id"],
            name=op.f("fk_coupon_redemptions_transaction_id_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupon_redemptions")),
        sa.UniqueConstraint("coupon_id", "user_id", name=op.f("uq_coupon_redemptions_coupon_id_user_id")),
        sa.UniqueConstraint("transaction_id", name=op.f("uq_coupon_redemptions_transaction_id")),
        schema="billing",
    )
    op.create_index(
        "ix_coupon_redemptions_user", "coupon_redemptions", ["user_id", "redeemed_at", "id"], schema="billing"
    )
    # The operator's transaction list: keyset pages over the whole ledger by time, type or amount.
    op.create_index("ix_transactions_created", "transactions", ["created_at", "id"], schema="billing")
    op.create_index("ix_transactions_type_created", "transactions", ["type", "created_at", "id"], schema="billing")
    op.create_index("ix_transactions_amount", "transactions", ["amount_micros", "id"], schema="billing")
    # Refund caps sum the refunds of one charge.
    op.create_index(
        "ix_transactions_refunded",
        "transactions",
        [sa.text("(metadata->>'refunded_transaction_id')")],
        schema="billing",
        postgresql_where=sa.text("type = 'refund'"),
    )


def downgrade() -> None:
    op.drop_index("ix_transactions_refunded", table_name="transactions", schema="billing")
    op.drop_index("ix_transactions_amount", table_name="transactions", schema="billing")
    op.drop_index("ix_transactions_type_created", table_name="transactions", schema="billing")
    op.drop_index("ix_transactions_created", table_name="transactions", schema="billing")
    op.drop_index("ix_coupon_redemptions_user", table_name="coupon_redemptions", schema="billing")
    op.drop_table("coupon_redemptions", schema="billing")
    op.drop_index("ix_coupons_assigned", table_name="coupons", schema="billing")
    op.drop_index("ix_coupons_created", table_name="coupons", schema="billing")
    op.drop_table("coupons", schema="billing")
