"""fix suggestions asked of a model through the gateway, per error pattern

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "error_monitor"
ZERO = sa.text("0")


def upgrade() -> None:
    op.create_table(
        "fix_suggestions",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("pattern_id", sa.String(32), nullable=False),
        sa.Column("model", sa.String(255), nullable=False),
        sa.Column("suggestion", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=True),
        sa.Column("gateway_request_id", sa.String(64), nullable=True),
        sa.Column("prompt_tokens", sa.Integer(), server_default=ZERO, nullable=False),
        sa.Column("completion_tokens", sa.Integer(), server_default=ZERO, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fix_suggestions")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_fix_suggestions_idempotency_key")),
        schema=S,
    )
    op.create_index("ix_fix_suggestions_pattern_time", "fix_suggestions", ["pattern_id", "created_at"], schema=S)


def downgrade() -> None:
    op.drop_table("fix_suggestions", schema=S)
