"""accounts: passwords, roles, key scopes and limits, sessions, password resets, mail outbox

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 08:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("now()")


def upgrade() -> None:
    op.add_column("users", sa.Column("password_hash", sa.String(length=200), nullable=True), schema="gateway")
    op.add_column(
        "users", sa.Column("role", sa.String(length=16), server_default="user", nullable=False), schema="gateway"
    )
    op.add_column("users", sa.Column("external_subject", sa.String(length=400), nullable=True), schema="gateway")
    op.add_column(
        "users",
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        schema="gateway",
    )
    op.create_unique_constraint(op.f("uq_users_external_subject"), "users", ["external_subject"], schema="gateway")
    op.add_column(
        "api_keys",
        sa.Column(
            "scopes",
            postgresql.ARRAY(sa.String(length=16)),
            server_default=sa.text("'{inference,read,account}'"),
            nullable=False,
        ),
        schema="gateway",
    )
    op.add_column(
        "api_keys",
        sa.Column("allowed_models", postgresql.ARRAY(sa.String(length=200)), nullable=True),
        schema="gateway",
    )
    op.add_column(
        "api_keys", sa.Column("ip_allowlist", postgresql.ARRAY(sa.String(length=64)), nullable=True), schema="gateway"
    )
    op.add_column("api_keys", sa.Column("spend_limit_day_micros", sa.BigInteger(), nullable=True), schema="gateway")
    op.add_column("api_keys", sa.Column("spend_limit_month_micros", sa.BigInteger(), nullable=True), schema="gateway")
    op.add_column("api_keys", sa.Column("rotated_to", sa.String(length=32), nullable=True), schema="gateway")
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("refresh_digest", sa.String(length=64), nullable=False),
        sa.Column("previous_digest", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["gateway.users.id"], name=op.f("fk_sessions_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
        sa.UniqueConstraint("refresh_digest", name=op.f("uq_sessions_refresh_digest")),
        schema="gateway",
    )
    op.create_index(op.f("ix_sessions_user_id"), "sessions", ["user_id"], unique=False, schema="gateway")
    op.create_index(
        op.f("ix_sessions_previous_digest"), "sessions", ["previous_digest"], unique=False, schema="gateway"
    )
    op.create_table(
        "password_resets",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["gateway.users.id"], name=op.f("fk_password_resets_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_resets")),
        sa.UniqueConstraint("token_digest", name=op.f("uq_password_resets_token_digest")),
        schema="gateway",
    )
    op.create_index(op.f("ix_password_resets_user_id"), "password_resets", ["user_id"], unique=False, schema="gateway")
    op.create_table(
        "mail_outbox",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_outbox")),
        schema="gateway",
    )
    op.create_index(
        "ix_mail_outbox_pending",
        "mail_outbox",
        ["next_attempt_at"],
        unique=False,
        schema="gateway",
        postgresql_where=sa.text("sent_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_mail_outbox_pending", table_name="mail_outbox", schema="gateway")
    op.drop_table("mail_outbox", schema="gateway")
    op.drop_index(op.f("ix_password_resets_user_id"), table_name="password_resets", schema="gateway")
    op.drop_table("password_resets", schema="gateway")
    op.drop_index(op.f("ix_sessions_previous_digest"), table_name="sessions", schema="gateway")
    op.drop_index(op.f("ix_sessions_user_id"), table_name="sessions", schema="gateway")
    op.drop_table("sessions", schema="gateway")
    for column in (
        "rotated_to",
        "spend_limit_month_micros",
        "spend_limit_day_micros",
        "ip_allowlist",
        "allowed_models",
        "scopes",
    ):
        op.drop_column("api_keys", column, schema="gateway")
    op.drop_constraint(op.f("uq_users_external_subject"), "users", schema="gateway", type_="unique")
    for column in ("updated_at", "external_subject", "role", "password_hash"):
        op.drop_column("users", column, schema="gateway")
