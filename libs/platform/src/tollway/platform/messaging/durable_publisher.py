"""Events made durable on the hot path: JetStream PubAck first, the group-commit outbox when NATS does not ack."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from tollway.contracts import Event
from tollway.platform.messaging.outbox_writer import GroupCommitOutbox
from tollway.platform.messaging.publisher import JetStreamPublisher

log = logging.getLogger(__name__)


class DurablePublisher:
    """Publishes each event straight to JetStream (``Nats-Msg-Id`` = event id) and reports when it is durable.

    ``add`` returns at once with a future that resolves once the event is stored: JetStream acknowledged it, or,
    when NATS is disconnected, errs or does not ack within the publisher's timeout, its outbox row committed (the
    relay republishes it with the same id, so a late PubAck of the first attempt makes a copy that JetStream's
    duplicate window or the consumers' inbox drops). The work runs in a task of its own, so a cancelled request
    still records, and a failed outbox commit is retried while the process lives. ``pending`` counts events not
    yet durable; past ``capacity`` the caller must refuse new work (``full``) rather than serve it unrecorded.
    """

    def __init__(
        self,
        publisher: JetStreamPublisher,
        fallback: GroupCommitOutbox,
        *,
        capacity: int = 10_000,
        connected: Callable[[], bool] = lambda: True,
    ) -> None:
        self._publisher = publisher
        self._fallback = fallback
        self._capacity = capacity
        self._connected = connected
        self._tasks: set[asyncio.Task[None]] = set()
        self.published = 0
        self.spooled = 0
        self._degraded = False

    @property
    def pending(self) -> int:
        return len(self._tasks)

    @property
    def full(self) -> bool:
        return len(self._tasks) >= self._capacity

    def start(self) -> None:
        self._fallback.start()

    def add(self, event: Event, subject: str | None = None) -> asyncio.Future[None]:
        """Start making ``event`` durable; never raises, never blocks (``full`` is the caller's to check)."""
        task = asyncio.get_running_loop().create_task(self._deliver(event, subject))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def close(self, within_s: float = 10.0) -> None:
        """Wait for events in flight (their outbox fallback included), then flush and stop the outbox.

        Bounded: with neither store reachable a shutdown must still end; what is still unstored is logged as lost.
        """
        deadline = asyncio.get_running_loop().time() + within_s
        if self._tasks:
            _, late = await asyncio.wait(set(self._tasks), timeout=within_s)
            for task in late:
                task.cancel()
            if late:
                log.error("%d usage events were not stored at shutdown", len(late))
        try:
            await asyncio.wait_for(self._fallback.close(), max(0.1, deadline - asyncio.get_running_loop().time()))
        except TimeoutError:
            log.error("the outbox could not be flushed at shutdown; its unstored usage events are lost")

    async def _deliver(self, event: Event, subject: str | None) -> None:
        if self._connected():
            try:
                await self._publisher.publish(event, subject)
            except Exception as exc:  # timeout, no responders, disconnected: every one means "not acked"
                self._note_degraded(exc)
            else:
                self.published += 1
                self._degraded = False
                return
        self.spooled += 1
        await self._fallback.add(event, subject)

    def _note_degraded(self, error: Exception) -> None:
        # Once per outage, not once per event: an outage at full load would otherwise log thousands of lines a second.
        if not self._degraded:
            self._degraded = True
            log.warning("JetStream did not ack (%s); spooling events to the outbox", type(error).__name__)
