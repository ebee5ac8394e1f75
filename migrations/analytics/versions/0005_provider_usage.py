"""provider usage imported from the providers' admin APIs, and the import cursors

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 10:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COUNTERS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "cost_micros")


def upgrade() -> None:
    op.create_table(
        "provider_usage",
        sa.Column("provider", sa.String(length=128), nullable=False),
        sa.Column("model", sa.String(length=255), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        *[sa.Column(name, sa.BigInteger(), server_default=sa.text("0"), nullable=False) for name in _COUNTERS],
        sa.Column("imported_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("provider", "model", "day", name=op.f("pk_provider_usage")),
        schema="analytics",
    )
    op.create_index("ix_provider_usage_day", "provider_usage", ["day"], unique=False, schema="analytics")
    op.create_table(
        "import_cursors",
        sa.Column("provider", sa.String(length=128), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("provider", name=op.f("pk_import_cursors")),
        schema="analytics",
    )


def downgrade() -> None:
    op.drop_table("import_cursors", schema="analytics")
    op.drop_index("ix_provider_usage_day", table_name="provider_usage", schema="analytics")
    op.drop_table("provider_usage", schema="analytics")
