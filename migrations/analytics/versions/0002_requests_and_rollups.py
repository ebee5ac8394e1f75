"""analytics requests (one row per request id) and hourly rollups

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 14:55:24.932158
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
        "hourly_rollups",
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("api_key_id", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=255), nullable=False),
        sa.Column("provider", sa.String(length=128), nullable=False),
        sa.Column("is_fallback", sa.Boolean(), nullable=False),
        sa.Column("requests", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("failures", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("cancelled", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("prompt_tokens", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("completion_tokens", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("cache_read_tokens", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("cache_write_tokens", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("reasoning_tokens", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("cost_micros", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("latency_ms_sum", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("ttft_ms_sum", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("ttft_count", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint(
            "user_id", "hour", "api_key_id", "model", "provider", "is_fallback", name=op.f("pk_hourly_rollups")
        ),
        schema="analytics",
    )
    op.create_index("ix_hourly_rollups_hour", "hourly_rollups", ["hour"], unique=False, schema="analytics")
    op.create_table(
        "requests",
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=True),
        sa.Column("account_id", sa.String(length=64), nullable=True),
        sa.Column("api_key_id", sa.String(length=64), nullable=True),
        sa.Column("is_anonymous", sa.Boolean(), nullable=False),
        sa.Column("requested_model", sa.String(length=255), nullable=False),
        sa.Column("provider", sa.String(length=128), nullable=True),
        sa.Column("upstream_model", sa.String(length=255), nullable=True),
        sa.Column("is_fallback", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("failed_attempts", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("prompt_tokens", sa.BigInteger(), nullable=False),
        sa.Column("completion_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cache_read_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cache_write_tokens", sa.BigInteger(), nullable=False),
        sa.Column("reasoning_tokens", sa.BigInteger(), nullable=False),
        sa.Column("usage_estimated", sa.Boolean(), nullable=False),
        sa.Column("cost_micros", sa.BigInteger(), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("ttft_ms", sa.Integer(), nullable=True),
        sa.Column("api", sa.String(length=16), nullable=False),
        sa.Column("stream", sa.Boolean(), nullable=False),
        sa.Column("error_class", sa.String(length=128), nullable=True),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_requests")),
        schema="analytics",
    )
    op.create_index(
        "ix_requests_key_time",
        "requests",
        ["api_key_id", "occurred_at", "request_id"],
        unique=False,
        schema="analytics",
    )
    op.create_index(
        "ix_requests_model_time", "requests", ["requested_model", "occurred_at"], unique=False, schema="analytics"
    )
    op.create_index(
        "ix_requests_provider_time", "requests", ["provider", "occurred_at"], unique=False, schema="analytics"
    )
    op.create_index(
        "ix_requests_user_time", "requests", ["user_id", "occurred_at", "request_id"], unique=False, schema="analytics"
    )


def downgrade() -> None:
    op.drop_index("ix_requests_user_time", table_name="requests", schema="analytics")
    op.drop_index("ix_requests_provider_time", table_name="requests", schema="analytics")
    op.drop_index("ix_requests_model_time", table_name="requests", schema="analytics")
    op.drop_index("ix_requests_key_time", table_name="requests", schema="analytics")
    op.drop_table("requests", schema="analytics")
    op.drop_index("ix_hourly_rollups_hour", table_name="hourly_rollups", schema="analytics")
    op.drop_table("hourly_rollups", schema="analytics")
