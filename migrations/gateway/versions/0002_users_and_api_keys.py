"""users, api keys, rate limit overrides and auth audit

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 14:49:47.590269
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
        "auth_audit",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=True),
        sa.Column("api_key_id", sa.String(length=32), nullable=True),
        sa.Column(
            "detail", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_audit")),
        schema="gateway",
    )
    op.create_index("ix_auth_audit_at", "auth_audit", ["at"], unique=False, schema="gateway")
    op.create_table(
        "users",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("display_name", sa.String(length=200), nullable=True),
        sa.Column("routing_strategy", sa.String(length=32), server_default="primary_first", nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
        schema="gateway",
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("display_prefix", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["gateway.users.id"], name=op.f("fk_api_keys_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("digest", name=op.f("uq_api_keys_digest")),
        schema="gateway",
    )
    op.create_index(op.f("ix_api_keys_user_id"), "api_keys", ["user_id"], unique=False, schema="gateway")
    op.create_table(
        "rate_limit_overrides",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=True),
        sa.Column("api_key_id", sa.String(length=32), nullable=True),
        sa.Column("rpm", sa.Integer(), nullable=True),
        sa.Column("tpm", sa.BigInteger(), nullable=True),
        sa.Column("rpd", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("num_nonnulls(user_id, api_key_id) = 1", name=op.f("ck_rate_limit_overrides_one_subject")),
        sa.CheckConstraint("rpm >= 0 AND tpm >= 0 AND rpd >= 0", name=op.f("ck_rate_limit_overrides_non_negative")),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["gateway.api_keys.id"], name=op.f("fk_rate_limit_overrides_api_key_id_api_keys")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["gateway.users.id"], name=op.f("fk_rate_limit_overrides_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rate_limit_overrides")),
        sa.UniqueConstraint("api_key_id", name=op.f("uq_rate_limit_overrides_api_key_id")),
        sa.UniqueConstraint("user_id", name=op.f("uq_rate_limit_overrides_user_id")),
        schema="gateway",
    )


def downgrade() -> None:
    op.drop_table("rate_limit_overrides", schema="gateway")
    op.drop_index(op.f("ix_api_keys_user_id"), table_name="api_keys", schema="gateway")
    op.drop_table("api_keys", schema="gateway")
    op.drop_table("users", schema="gateway")
    op.drop_index("ix_auth_audit_at", table_name="auth_audit", schema="gateway")
    op.drop_table("auth_audit", schema="gateway")
