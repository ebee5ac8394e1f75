"""Group commit for outbox rows written on a hot path: many requests, one multi-row INSERT."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from contextlib import suppress

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncEngine

from tollway.contracts import Event
from tollway.platform.messaging.outbox import outbox_row
from tollway.platform.messaging.outbox_wakeups import notify_relays

log = logging.getLogger(__name__)


class GroupCommitOutbox:
    """Buffers events and inserts them together every ``interval_s`` (or at ``max_batch``).

    ``add`` returns at once; ``add_and_wait`` returns once the row is committed. The window between the two is the
    only place an event can be lost (a crash within ``interval_s``), which is why callers that must not lose an
    event await it; a failed flush is retried with the same rows, so nothing is dropped while the process lives.
    """

    def __init__(self, engine: AsyncEngine, outbox: Table, *, interval_s: float = 0.005, max_batch: int = 500) -> None:
        self._engine = engine
        self._outbox = outbox
        self._interval_s = interval_s
        self._max_batch = max_batch
        self._pending: list[tuple[dict[str, object], asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-group-commit")

    async def close(self) -> None:
        """Flush what is buffered and stop."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task

    def add(self, event: Event, subject: str | None = None) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((outbox_row(event, subject), future))
        if len(self._pending) in (1, self._max_batch):  # the first row wakes an idle writer, a full batch flushes
            self._wake.set()
        return future

    async def add_and_wait(self, event: Event, subject: str | None = None) -> None:
        # Shielded: a cancelled request (client gone) must still get its event committed.
        await asyncio.shield(self.add(event, subject))

    async def _run(self) -> None:
        while not (self._closing and not self._pending):
            if not self._pending and not self._closing:
                # Idle: sleep until a row arrives instead of waking every interval (an idle stack stays idle).
                await self._wake.wait()
                self._wake.clear()
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._interval_s)  # let the batch fill
            self._wake.clear()
            if self._pending:
                await self._flush()

    async def _flush(self) -> None:
        batch, self._pending = self._pending[: self._max_batch], self._pending[self._max_batch :]
        try:
            await self._insert([row for row, _ in batch])
        except Exception:
            log.exception("outbox group commit failed; retrying %d rows", len(batch))
            self._pending[:0] = batch
            await asyncio.sleep(0.1)
            return
        for _, future in batch:
            if not future.done():
                future.set_result(None)

    async def _insert(self, rows: Sequence[dict[str, object]]) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(self._outbox.insert(), list(rows))
            await conn.execute(notify_relays(self._outbox))
