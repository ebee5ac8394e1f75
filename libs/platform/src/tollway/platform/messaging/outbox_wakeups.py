"""Wake an outbox relay when a writer commits rows (Postgres LISTEN/NOTIFY), so an idle relay sleeps."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import Select, Table, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)


def outbox_channel(outbox: Table) -> str:
    """The NOTIFY channel of one outbox table (channels are per database, like the table)."""
    return f"{outbox.schema or 'public'}_{outbox.name}_rows"


def notify_relays(outbox: Table) -> Select[Any]:
    """Run in the writer's transaction: Postgres delivers it at commit (never for a rollback), once per transaction."""
    return select(func.pg_notify(outbox_channel(outbox), ""))


class OutboxWakeups:
    """One held connection that LISTENs on the outbox's channel and sets ``event`` on every notification.

    When the connection is lost (Postgres restarted, the backend terminated) ``listening`` turns false and the relay
    polls until ``ensure_listening`` gets a new one: a notification missed meanwhile costs one poll interval.
    """

    def __init__(self, engine: AsyncEngine, outbox: Table) -> None:
        self._engine = engine
        self._channel = outbox_channel(outbox)
        self._conn: AsyncConnection | None = None
        self._driver: Any = None
        self.event = asyncio.Event()

    @property
    def listening(self) -> bool:
        return self._driver is not None and not self._driver.is_closed()

    async def ensure_listening(self) -> bool:
        if self.listening:
            return True
        await self.close()
        try:
            self._conn = await self._engine.connect()
            raw = await self._conn.get_raw_connection()
            self._driver = raw.driver_connection
            await self._driver.add_listener(self._channel, self._notified)
            self._driver.add_termination_listener(self._notified)  # a lost connection wakes the relay to re-listen
        except Exception as exc:  # any failure means "poll for now"
            log.warning("outbox relay cannot LISTEN on %s (%s); polling", self._channel, type(exc).__name__)
            await self.close()
            return False
        self.event.set()  # rows committed while nobody listened: look once
        return True

    async def close(self) -> None:
        conn, self._conn, self._driver = self._conn, None, None
        if conn is not None:
            try:
                await conn.invalidate()  # a listening connection must not go back to the pool
            except Exception:  # it is gone either way
                log.debug("closing the LISTEN connection failed", exc_info=True)

    def _notified(self, *_: object) -> None:
        self.event.set()
