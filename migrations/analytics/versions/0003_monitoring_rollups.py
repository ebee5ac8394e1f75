"""request monitoring: latency histograms, generation and anonymous counters, time and status indexes

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

# domain.latency.BOUNDS_MS at the time of writing (a migration never imports application code).
BOUNDS_MS = (
    *(5, 10, 20, 30, 40, 50, 75, 100, 125, 150, 200, 250, 300, 400, 500, 600, 750, 1000),
    *(1250, 1500, 2000, 2500, 3000, 4000, 5000, 7500, 10_000, 15_000, 20_000, 30_000, 45_000, 60_000, 120_000),
)
NEW_COUNTERS = ("generation_tokens", "generation_ms_sum", "anonymous")
KEY = "user_id, hour, api_key_id, model, provider, is_fallback"
ROW_KEY = (
    "coalesce(user_id, '') AS user_id, date_trunc('hour', occurred_at, 'UTC') AS hour, "
    "coalesce(api_key_id, '') AS api_key_id, requested_model AS model, coalesce(provider, '') AS provider, is_fallback"
)
ROWS = f"SELECT {ROW_KEY}, status, completion_tokens, latency_ms, ttft_ms, is_anonymous FROM analytics.requests"  # noqa: S608 - constants
GENERATION_MS = "greatest(latency_ms - coalesce(ttft_ms, 0), 0)"
GENERATING = f"status <> 'failed' AND completion_tokens > 0 AND {GENERATION_MS} > 0"


def upgrade() -> None:
    for name in NEW_COUNTERS:
        op.add_column(
            "hourly_rollups",
            sa.Column(name, sa.BigInteger(), server_default=sa.text("0"), nullable=False),
            schema="analytics",
        )
    op.create_table(
        "latency_histogram",
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model", sa.String(length=255), nullable=False),
        sa.Column("provider", sa.String(length=128), nullable=False),
        sa.Column("bucket", sa.SmallInteger(), nullable=False),
        sa.Column("count", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("hour", "model", "provider", "bucket", name=op.f("pk_latency_histogram")),
        schema="analytics",
    )
    op.create_index("ix_requests_time", "requests", ["occurred_at", "request_id"], unique=False, schema="analytics")
    op.create_index(
        "ix_requests_status_time",
        "requests",
        ["status", "occurred_at", "request_id"],
        unique=False,
        schema="analytics",
    )
    _backfill()


def _backfill() -> None:
    """Rows stored before this revision get their new counters and histogram buckets (rollups stay their sum)."""
    bounds = "ARRAY[" + ",".join(str(b) for b in BOUNDS_MS) + "]::int[]"
    op.execute(
        f"""
        UPDATE analytics.hourly_rollups AS r
        SET generation_tokens = s.generation_tokens, generation_ms_sum = s.generation_ms_sum, anonymous = s.anonymous
        FROM (
            SELECT {KEY},
                   coalesce(sum(completion_tokens) FILTER (WHERE {GENERATING}), 0) AS generation_tokens,
                   coalesce(sum({GENERATION_MS}) FILTER (WHERE {GENERATING}), 0) AS generation_ms_sum,
                   count(*) FILTER (WHERE is_anonymous) AS anonymous
            FROM ({ROWS}) AS q
            GROUP BY {KEY}
        ) AS s
        WHERE (r.user_id, r.hour, r.api_key_id, r.model, r.provider, r.is_fallback)
            = (s.user_id, s.hour, s.api_key_id, s.model, s.provider, s.is_fallback)
        """  # noqa: S608 - built from this module's constants
    )
    op.execute(
        f"""
        INSERT INTO analytics.latency_histogram (hour, model, provider, bucket, count)
        SELECT hour, model, provider, width_bucket(latency_ms - 1, {bounds}) AS bucket, count(*)
        FROM ({ROWS}) AS q
        GROUP BY hour, model, provider, bucket
        """  # noqa: S608 - built from this module's constants
    )


def downgrade() -> None:
    op.drop_index("ix_requests_status_time", table_name="requests", schema="analytics")
    op.drop_index("ix_requests_time", table_name="requests", schema="analytics")
    op.drop_table("latency_histogram", schema="analytics")
    for name in reversed(NEW_COUNTERS):
        op.drop_column("hourly_rollups", name, schema="analytics")
