"""Tables of chat history and message feedback, in the ``gateway`` schema (migration 0003)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR

from tollway.gateway.db.tables import metadata
from tollway.gateway.domain.chats import CLIENT_MESSAGE_ID_MAX, MODEL_MAX, TITLE_MAX

# User ids cascade: erasing a user erases their chats. ``search`` columns are written by the statements that set
# the text (to_tsvector of it), so the GIN indexes need no trigger.
chat_sessions = Table(
    "chat_sessions",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("seq", BigInteger, Identity(always=True), nullable=False, unique=True),
    Column("user_id", String(32), ForeignKey("gateway.users.id", ondelete="CASCADE"), nullable=False),
    Column("title", String(TITLE_MAX), nullable=False),
    Column("model", String(MODEL_MAX)),
    Column("search", TSVECTOR, nullable=False),
    Column("is_active", Boolean, nullable=False, server_default=text("true")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("deleted_at", DateTime(timezone=True)),
    # The list order: a user's live sessions, most recently active first.
    Index("ix_chat_sessions_user_recent", "user_id", "is_active", "updated_at", "seq"),
    Index("ix_chat_sessions_search", "search", postgresql_using="gin"),
)

chat_messages = Table(
    "chat_messages",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("seq", BigInteger, Identity(always=True), nullable=False, unique=True),
    Column("session_id", String(32), ForeignKey("gateway.chat_sessions.id", ondelete="CASCADE"), nullable=False),
    # Copied from the session so search can filter by owner before matching (no scan of other users' text).
    Column("user_id", String(32), ForeignKey("gateway.users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("client_message_id", String(CLIENT_MESSAGE_ID_MAX)),
    Column("role", String(16), nullable=False),
    Column("content", Text, nullable=False),
    Column("model", String(MODEL_MAX)),
    Column("tokens", Integer, nullable=False, server_default=text("0")),
    Column("search", TSVECTOR, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # Retries carry the same client id; NULLs never collide, so messages without one are always new.
    UniqueConstraint("session_id", "client_message_id", name="uq_chat_messages_client_message_id"),
    CheckConstraint("role IN ('user', 'assistant', 'system', 'tool')", name="role"),
    CheckConstraint("tokens >= 0", name="tokens_non_negative"),
    Index("ix_chat_messages_session_seq", "session_id", "seq"),
    Index("ix_chat_messages_search", "search", postgresql_using="gin"),
)

message_feedback = Table(
    "message_feedback",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("seq", BigInteger, Identity(always=True), nullable=False, unique=True),
    Column("user_id", String(32), ForeignKey("gateway.users.id", ondelete="CASCADE"), nullable=False),
    Column("session_id", String(32), ForeignKey("gateway.chat_sessions.id", ondelete="CASCADE"), index=True),
    Column("message_id", String(32), ForeignKey("gateway.chat_messages.id", ondelete="CASCADE")),
    Column("feedback_type", String(16), nullable=False),
    Column("rating", SmallInteger),
    Column("comment", Text),
    Column("model", String(MODEL_MAX)),
    Column("metadata", JSONB),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # One opinion per user and message: a second submission replaces the first.
    UniqueConstraint("user_id", "message_id", name="uq_message_feedback_user_message"),
    CheckConstraint("feedback_type IN ('thumbs_up', 'thumbs_down', 'regenerate')", name="feedback_type"),
    CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),
    Index("ix_message_feedback_user_seq", "user_id", "seq"),
)
