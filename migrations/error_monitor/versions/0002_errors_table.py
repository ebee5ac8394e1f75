"""errors table

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 14:46:13.341424
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "errors",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("service", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(length=255), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_errors")),
        sa.UniqueConstraint("event_id", name=op.f("uq_errors_event_id")),
        schema="error_monitor",
    )
    op.create_index(op.f("ix_errors_fingerprint"), "errors", ["fingerprint"], unique=False, schema="error_monitor")


def downgrade() -> None:
    op.drop_index(op.f("ix_errors_fingerprint"), table_name="errors", schema="error_monitor")
    op.drop_table("errors", schema="error_monitor")
