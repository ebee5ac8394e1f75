"""Noticing an HTTP client leave mid-request: one watcher task that cancels the request's own task."""

from __future__ import annotations

import asyncio
from typing import Any


class DisconnectWatch:
    """Cancels the request's task when the client goes away, so the call it waits on is abandoned at once.

    Only our own cancellation is swallowed (``swallow``); any other one propagates as usual. One task per request:
    running the work in a task of its own beside the watcher cost a second task and an ``asyncio.wait``.
    """

    def __init__(self, receive: Any) -> None:
        self._receive = receive
        self._owner = asyncio.current_task()
        self._task = asyncio.ensure_future(self._watch())
        self.disconnected = False

    async def _watch(self) -> None:
        while (await self._receive())["type"] != "http.disconnect":
            pass
        self.disconnected = True
        if self._owner is not None:
            self._owner.cancel()

    def stop(self) -> None:
        """Call as soon as the response is complete, before awaiting anything else."""
        self._task.cancel()

    def swallow(self) -> bool:
        """In an ``except CancelledError``: ``True`` (and the cancellation undone) if it was the client leaving."""
        if self.disconnected and self._owner is not None:
            self._owner.uncancel()
            return True
        return False
