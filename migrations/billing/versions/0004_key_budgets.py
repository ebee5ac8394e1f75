"""per-key budgets: the limits the gateway announces, each budgeted key's spend per UTC day and month

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "key_budgets",
        sa.Column("api_key_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("day_limit_micros", sa.BigInteger(), nullable=True),
        sa.Column("month_limit_micros", sa.BigInteger(), nullable=True),
        sa.Column("changed_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("api_key_id", name=op.f("pk_key_budgets")),
        schema="billing",
    )
    op.create_table(
        "key_spend",
        sa.Column("api_key_id", sa.String(length=64), nullable=False),
        sa.Column("budget_window", sa.String(length=8), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("spent_micros", sa.BigInteger(), nullable=False),
        sa.Column("limit_micros", sa.BigInteger(), nullable=True),
        sa.Column("exceeded_event_id", sa.String(length=64), nullable=True),
        sa.Column("exceeded_transaction_id", sa.String(length=40), nullable=True),
        sa.Column("exceeded_at", TZ, nullable=True),
        sa.Column("updated_at", TZ, server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("budget_window IN ('day', 'month')", name=op.f("ck_key_spend_budget_window")),
        sa.CheckConstraint("spent_micros >= 0", name=op.f("ck_key_spend_spent_not_negative")),
        sa.ForeignKeyConstraint(["account_id"], ["billing.accounts.id"], name=op.f("fk_key_spend_account_id_accounts")),
        sa.PrimaryKeyConstraint("api_key_id", "budget_window", "period", name=op.f("pk_key_spend")),
        sa.UniqueConstraint("exceeded_event_id", name=op.f("uq_key_spend_exceeded_event_id")),
        schema="billing",
    )


def downgrade() -> None:
    op.drop_table("key_spend", schema="billing")
    op.drop_table("key_budgets", schema="billing")
