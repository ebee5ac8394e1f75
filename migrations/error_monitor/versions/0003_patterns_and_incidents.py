"""error patterns, classification on errors, provider health windows, incidents

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 09:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "error_monitor"
ZERO = sa.text("0")


def upgrade() -> None:
    op.add_column("errors", sa.Column("category", sa.String(32), server_default="UNKNOWN", nullable=False), schema=S)
    op.add_column("errors", sa.Column("impact", sa.String(16), server_default="medium", nullable=False), schema=S)
    op.add_column(
        "errors", sa.Column("fixable", sa.Boolean(), server_default=sa.text("false"), nullable=False), schema=S
    )
    op.add_column("errors", sa.Column("pattern_id", sa.String(32), server_default="", nullable=False), schema=S)
    op.add_column("errors", sa.Column("location", sa.String(255), server_default="", nullable=False), schema=S)
    op.add_column("errors", sa.Column("provider", sa.String(128), nullable=True), schema=S)
    op.create_index("ix_errors_pattern_time", "errors", ["pattern_id", "occurred_at"], schema=S)
    op.create_index("ix_errors_provider_time", "errors", ["provider", "occurred_at"], schema=S)
    op.create_index("ix_errors_time", "errors", ["occurred_at"], schema=S)
    op.create_table(
        "patterns",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("service", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("location", sa.String(255), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("example", sa.Text(), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("impact", sa.String(16), nullable=False),
        sa.Column("fixable", sa.Boolean(), nullable=False),
        sa.Column("suggested_fix", sa.Text(), nullable=True),
        sa.Column("count", sa.BigInteger(), server_default=ZERO, nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patterns")),
        schema=S,
    )
    op.create_index("ix_patterns_impact_count", "patterns", ["impact", "count"], schema=S)
    op.create_index("ix_patterns_last_seen", "patterns", ["last_seen"], schema=S)
    op.create_table(
        "provider_minutes",
        sa.Column("provider", sa.String(128), nullable=False),
        sa.Column("minute", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.BigInteger(), server_default=ZERO, nullable=False),
        sa.Column("failures", sa.BigInteger(), server_default=ZERO, nullable=False),
        sa.Column("latency_ms_sum", sa.BigInteger(), server_default=ZERO, nullable=False),
        sa.PrimaryKeyConstraint("provider", "minute", name=op.f("pk_provider_minutes")),
        schema=S,
    )
    op.create_table(
        "provider_health",
        sa.Column("provider", sa.String(128), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), server_default=ZERO, nullable=False),
        sa.Column("consecutive_successes", sa.Integer(), server_default=ZERO, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("provider", name=op.f("pk_provider_health")),
        schema=S,
    )
    op.create_table(
        "incidents",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(128), nullable=False),
        sa.Column("provider", sa.String(128), nullable=True),
        sa.Column("pattern_id", sa.String(32), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_seconds", sa.Integer(), nullable=True),
        sa.Column("resolved_by", sa.String(255), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("error_count", sa.BigInteger(), server_default=ZERO, nullable=False),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
        schema=S,
    )
    op.create_index(
        "uq_incidents_ongoing_subject",
        "incidents",
        ["kind", "subject"],
        unique=True,
        schema=S,
        postgresql_where=sa.text("status = 'ongoing'"),
    )
    op.create_index("ix_incidents_started", "incidents", ["started_at"], schema=S)


def downgrade() -> None:
    op.drop_table("incidents", schema=S)
    op.drop_table("provider_health", schema=S)
    op.drop_table("provider_minutes", schema=S)
    op.drop_table("patterns", schema=S)
    for index in ("ix_errors_time", "ix_errors_provider_time", "ix_errors_pattern_time"):
        op.drop_index(index, table_name="errors", schema=S)
    for column in ("provider", "location", "pattern_id", "fixable", "impact", "category"):
        op.drop_column("errors", column, schema=S)
