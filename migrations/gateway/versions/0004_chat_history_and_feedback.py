"""chat history and feedback: sessions, messages (idempotent by client message id, full-text search), feedback

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 08:41:11.759756
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "chat_sessions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=True),
        sa.Column("search", postgresql.TSVECTOR(), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["gateway.users.id"], name=op.f("fk_chat_sessions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_sessions")),
        sa.UniqueConstraint("seq", name=op.f("uq_chat_sessions_seq")),
        schema="gateway",
    )
    op.create_index(
        "ix_chat_sessions_search", "chat_sessions", ["search"], unique=False, schema="gateway", postgresql_using="gin"
    )
    op.create_index(
        "ix_chat_sessions_user_recent",
        "chat_sessions",
        ["user_id", "is_active", "updated_at", "seq"],
        unique=False,
        schema="gateway",
    )
    op.create_table(
        "chat_messages",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("session_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("client_message_id", sa.String(length=64), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=True),
        sa.Column("tokens", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("search", postgresql.TSVECTOR(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("role IN ('user', 'assistant', 'system', 'tool')", name=op.f("ck_chat_messages_role")),
        sa.CheckConstraint("tokens >= 0", name=op.f("ck_chat_messages_tokens_non_negative")),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["gateway.chat_sessions.id"],
            name=op.f("fk_chat_messages_session_id_chat_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["gateway.users.id"], name=op.f("fk_chat_messages_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_messages")),
        sa.UniqueConstraint("seq", name=op.f("uq_chat_messages_seq")),
        sa.UniqueConstraint("session_id", "client_message_id", name="uq_chat_messages_client_message_id"),
        schema="gateway",
    )
    op.create_index(
        "ix_chat_messages_search", "chat_messages", ["search"], unique=False, schema="gateway", postgresql_using="gin"
    )
    op.create_index(
        "ix_chat_messages_session_seq", "chat_messages", ["session_id", "seq"], unique=False, schema="gateway"
    )
    op.create_index(op.f("ix_chat_messages_user_id"), "chat_messages", ["user_id"], unique=False, schema="gateway")
    op.create_table(
        "message_feedback",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("session_id", sa.String(length=32), nullable=True),
        sa.Column("message_id", sa.String(length=32), nullable=True),
        sa.Column("feedback_type", sa.String(length=16), nullable=False),
        sa.Column("rating", sa.SmallInteger(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("model", sa.String(length=200), nullable=True),
        sa.Column("metadata", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "feedback_type IN ('thumbs_up', 'thumbs_down', 'regenerate')",
            name=op.f("ck_message_feedback_feedback_type"),
        ),
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name=op.f("ck_message_feedback_rating_range")),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["gateway.chat_messages.id"],
            name=op.f("fk_message_feedback_message_id_chat_messages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["gateway.chat_sessions.id"],
            name=op.f("fk_message_feedback_session_id_chat_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["gateway.users.id"], name=op.f("fk_message_feedback_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_feedback")),
        sa.UniqueConstraint("seq", name=op.f("uq_message_feedback_seq")),
        sa.UniqueConstraint("user_id", "message_id", name="uq_message_feedback_user_message"),
        schema="gateway",
    )
    op.create_index(
        op.f("ix_message_feedback_session_id"), "message_feedback", ["session_id"], unique=False, schema="gateway"
    )
    op.create_index(
        "ix_message_feedback_user_seq", "message_feedback", ["user_id", "seq"], unique=False, schema="gateway"
    )


def downgrade() -> None:
    op.drop_index("ix_message_feedback_user_seq", table_name="message_feedback", schema="gateway")
    op.drop_index(op.f("ix_message_feedback_session_id"), table_name="message_feedback", schema="gateway")
    op.drop_table("message_feedback", schema="gateway")
    op.drop_index(op.f("ix_chat_messages_user_id"), table_name="chat_messages", schema="gateway")
    op.drop_index("ix_chat_messages_session_seq", table_name="chat_messages", schema="gateway")
    op.drop_index("ix_chat_messages_search", table_name="chat_messages", schema="gateway", postgresql_using="gin")
    op.drop_table("chat_messages", schema="gateway")
    op.drop_index("ix_chat_sessions_user_recent", table_name="chat_sessions", schema="gateway")
    op.drop_index("ix_chat_sessions_search", table_name="chat_sessions", schema="gateway", postgresql_using="gin")
    op.drop_table("chat_sessions", schema="gateway")
