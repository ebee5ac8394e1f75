"""The transactional outbox: events stored with the state change, then relayed to JetStream after commit."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, NamedTuple

from sqlalchemy import Row, Select, Table, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from tollway.contracts import Event, encode, subject_of
from tollway.platform.messaging.outbox_wakeups import OutboxWakeups, notify_relays
from tollway.platform.messaging.publisher import JetStreamPublisher
from tollway.platform.telemetry import inject_trace_context

log = logging.getLogger(__name__)


class RelayResult(NamedTuple):
    sent: int
    failed: int


def outbox_row(event: Event, subject: str | None = None) -> dict[str, object]:
    """The values of one outbox row; ``event_id`` becomes the ``Nats-Msg-Id``."""
    return {
        "event_id": event.event_id,
        "subject": subject or subject_of(event),
        "payload": encode(event),
        "headers": dict(inject_trace_context({})),
    }


async def add_to_outbox(
    db: AsyncSession | AsyncConnection, outbox: Table, events: Sequence[Event | tuple[Event, str]]
) -> None:
    """Stage events in the caller's transaction; they are published only if it commits.

    An item may be ``(event, subject)`` for events published on a subject other than their tag.
    """
    rows = [outbox_row(*item) if isinstance(item, tuple) else outbox_row(item) for item in events]
    if rows:
        await db.execute(outbox.insert(), rows)
        await db.execute(notify_relays(outbox))


class OutboxRelay:
    """Publishes unsent outbox rows in order of insertion and marks each sent only after its PubAck.

    Rows are claimed with ``FOR UPDATE SKIP LOCKED`` inside the relay's transaction, so several relays share the
    work and a relay killed mid-batch leaves its rows unsent; the next one republishes them with the same
    ``Nats-Msg-Id`` (JetStream drops the copy inside the duplicate window, consumers' inboxes after it).

    An idle relay sleeps until a writer's commit notifies it (``OutboxWakeups``), looking anyway every
    ``idle_poll_s``; without a listening connection it polls every ``idle_sleep_s``.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        outbox: Table,
        publisher: JetStreamPublisher,
        *,
        batch_size: int = 500,
        idle_sleep_s: float = 0.05,
        idle_poll_s: float = 5.0,
        retention: timedelta = timedelta(days=7),
    ) -> None:
        self._engine = engine
        self._outbox = outbox
        self._publisher = publisher
        self._batch_size = batch_size
        self._idle_sleep_s = idle_sleep_s
        self._idle_poll_s = idle_poll_s
        self._retention = retention
        self._wakeups = OutboxWakeups(engine, outbox)

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until ``stop`` is set; survives Postgres and NATS outages by backing off and retrying."""
        backoff = self._idle_sleep_s
        try:
            while not stop.is_set():
                listening = await self._wakeups.ensure_listening()
                self._wakeups.event.clear()  # a commit from here on wakes the wait below
                try:
                    result = await self.relay_once()
                except Exception:
                    log.exception("outbox relay batch failed; retrying")
                    result = RelayResult(0, 1)
                if result.failed and not result.sent:
                    backoff = min(backoff * 2, 5.0)
                    await _sleep_or_stop(stop, backoff)
                    continue
                backoff = self._idle_sleep_s
                if result.sent < self._batch_size:
                    idle = self._idle_poll_s if listening else self._idle_sleep_s
                    await _sleep_or_stop(stop, idle, self._wakeups.event)
        finally:
            await self._wakeups.close()

    async def relay_once(self) -> RelayResult:
        """Publish one batch; returns how many rows were marked sent and how many failed."""
        async with self._engine.begin() as conn:
            rows = (await conn.execute(self._claim_batch())).all()
            if not rows:
                return RelayResult(0, 0)
            results = await asyncio.gather(*(self._publish(row) for row in rows), return_exceptions=True)
            sent = [row.seq for row, result in zip(rows, results, strict=True) if result is None]
            failed = [(row, result) for row, result in zip(rows, results, strict=True) if result is not None]
            await self._mark(conn, sent, failed)
        return RelayResult(len(sent), len(failed))

    async def prune(self) -> int:
        """Delete rows sent longer ago than the retention period."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                self._outbox.delete().where(self._outbox.c.sent_at < func.now() - self._retention)
            )
        return int(result.rowcount or 0)

    def _claim_batch(self) -> Select[Any]:
        c = self._outbox.c
        return (
            select(c.seq, c.event_id, c.subject, c.payload, c.headers)
            .where(c.sent_at.is_(None))
            .order_by(c.seq)
            .limit(self._batch_size)
            .with_for_update(skip_locked=True)
        )

    async def _publish(self, row: Row[tuple[int, str, str, bytes, dict[str, str]]]) -> None:
        await self._publisher.publish_raw(row.subject, row.payload, row.event_id, row.headers)

    async def _mark(
        self, conn: AsyncConnection, sent: list[int], failed: list[tuple[Row[tuple[int]], BaseException]]
    ) -> None:
        c = self._outbox.c
        if sent:
            await conn.execute(update(self._outbox).where(c.seq.in_(sent)).values(sent_at=func.now()))
        for row, error in failed:
            await conn.execute(
                update(self._outbox)
                .where(c.seq == row.seq)
                .values(attempts=c.attempts + 1, last_error=f"{type(error).__name__}: {error}"[:500])
            )
        if failed:
            log.warning("outbox: %d of %d publishes failed; will retry", len(failed), len(sent) + len(failed))


async def _sleep_or_stop(stop: asyncio.Event, seconds: float, wake: asyncio.Event | None = None) -> None:
    waits = [asyncio.ensure_future(stop.wait())]
    if wake is not None:
        waits.append(asyncio.ensure_future(wake.wait()))
    try:
        await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()
