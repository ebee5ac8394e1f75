"""Recording poison messages in the consumer's own schema and reporting them to error_monitor."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncEngine

from tollway.contracts import ErrorReportedV1, error_subject
from tollway.platform.messaging.consumer import PoisonMessage
from tollway.platform.messaging.outbox import add_to_outbox
from tollway.platform.messaging.tables import MessagingTables

log = logging.getLogger(__name__)


class DeadLetterRecorder:
    """Stores the poison message and stages an ``<service>.error.reported.v1`` in one transaction."""

    def __init__(self, engine: AsyncEngine, tables: MessagingTables, service: str) -> None:
        self._engine = engine
        self._tables = tables
        self._service = service

    async def __call__(self, poison: PoisonMessage) -> None:
        report = ErrorReportedV1(
            service=self._service,
            kind="poison_message",
            message=f"{poison.consumer}: {poison.error}"[:2000],
            subject=poison.subject,
            stream_sequence=poison.stream_sequence,
            fingerprint=f"{self._service}:poison:{poison.consumer}",
        )
        async with self._engine.begin() as conn:
            await conn.execute(
                self._tables.dead_letters.insert().values(
                    consumer=poison.consumer,
                    subject=poison.subject,
                    stream_sequence=poison.stream_sequence,
                    payload=poison.payload,
                    error=poison.error,
                )
            )
            await add_to_outbox(conn, self._tables.outbox, [(report, error_subject(self._service))])
        log.error(
            "poison message terminated",
            extra={"consumer": poison.consumer, "subject": poison.subject, "stream_sequence": poison.stream_sequence},
        )
