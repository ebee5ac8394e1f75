"""The outbox, inbox and dead-letter tables every service creates in its own schema."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB


class MessagingTables:
    """The three tables of the reliable-messaging pattern, bound to one service's metadata."""

    def __init__(self, metadata: MetaData) -> None:
        self.outbox = Table(
            "outbox",
            metadata,
            Column("seq", BigInteger, Identity(always=True), primary_key=True),
            Column("event_id", String(64), nullable=False, unique=True),
            Column("subject", String(255), nullable=False),
            Column("payload", LargeBinary, nullable=False),
            Column("headers", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
            Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
            Column("sent_at", DateTime(timezone=True)),
            Column("attempts", Integer, nullable=False, server_default=text("0")),
            Column("last_error", Text),
            Index("ix_outbox_unsent", "seq", postgresql_where=text("sent_at IS NULL")),
        )
        self.inbox = Table(
            "inbox",
            metadata,
            Column("consumer", String(128), nullable=False),
            Column("event_id", String(64), nullable=False),
            Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
            PrimaryKeyConstraint("consumer", "event_id"),
        )
        self.dead_letters = Table(
            "dead_letters",
            metadata,
            Column("id", BigInteger, Identity(always=True), primary_key=True),
            Column("consumer", String(128), nullable=False),
            Column("subject", String(255), nullable=False),
            Column("stream_sequence", BigInteger),
            Column("payload", LargeBinary, nullable=False),
            Column("error", Text, nullable=False),
            Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        )
