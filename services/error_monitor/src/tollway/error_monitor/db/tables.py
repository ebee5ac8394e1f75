"""Tables of the ``error_monitor`` schema (migrations in ``migrations/error_monitor``)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Identity, String, Table, Text, func

from tollway.platform.db import make_metadata
from tollway.platform.messaging import MessagingTables

metadata = make_metadata("error_monitor")
messaging = MessagingTables(metadata)

errors = Table(
    "errors",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("event_id", String(64), nullable=False, unique=True),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("service", String(64), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("message", Text, nullable=False),
    Column("fingerprint", String(255), nullable=False, index=True),
    Column("subject", String(255)),
    Column("request_id", String(64)),
)
