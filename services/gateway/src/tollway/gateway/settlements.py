"""Settling finished requests off the response path, but tracked: shutdown waits for every pending settlement."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)


class Settlements:
    """Each settlement is one small Redis call; if it never runs, the hold still expires by its TTL."""

    def __init__(self) -> None:
        self._pending: set[asyncio.Task[None]] = set()

    def spawn(self, settlement: Coroutine[Any, Any, None]) -> None:
        # Its own task: a cancelled request (client gone) must still settle, and the client need not wait for it.
        task = asyncio.get_running_loop().create_task(settlement)
        self._pending.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._pending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("settlement failed: %r", task.exception())

    def __len__(self) -> int:
        return len(self._pending)

    async def drain(self, timeout_s: float = 5.0) -> None:
        if self._pending:
            await asyncio.wait(set(self._pending), timeout=timeout_s)
