"""Noticing an HTTP client leave mid-request: one watcher task that cancels the request's own task."""

from __future__ import annotations

import asyncio
from typing import Any

# How long a stopped watcher may wait for the server's closing ``http.disconnect`` before it is cancelled.
STRAGGLER_S = 30.0


class DisconnectWatch:
    """Cancels the request's task when the client goes away, so the call it waits on is abandoned at once.

    Only our own cancellation is swallowed (``swallow``); any other one propagates as usual. One task per request:
    running the work in a task of its own beside the watcher cost a second task and an ``asyncio.wait``.
    """

    def __init__(self, receive: Any, straggler_s: float = STRAGGLER_S) -> None:
        self._receive = receive
        self._owner = asyncio.current_task()
        self._task = asyncio.ensure_future(self._watch())
        self._straggler_s = straggler_s
        self._stopped = False
        self.disconnected = False

    async def _watch(self) -> None:
        while (await self._receive())["type"] != "http.disconnect":
            pass
        if self._stopped:
            return  # the server's own notice that the exchange is over, not a client leaving
        self.disconnected = True
        if self._owner is not None:
            self._owner.cancel()

    def stop(self) -> None:
        """The answer is complete: a disconnect from now on changes nothing. Call before awaiting anything else.

        The watcher is left to end by itself: an ASGI server answers a pending ``receive`` with ``http.disconnect``
        once the response is complete (granian within a few ms, also on a kept-alive connection), while cancelling
        the server's pending ``receive`` was the costliest line of the router per request (issue 14's profile).
        One still waiting after ``straggler_s`` is cancelled.
        """
        if self._stopped:
            return
        self._stopped = True
        if not self._task.done():
            self._task.get_loop().call_later(self._straggler_s, self._task.cancel)

    def cancel(self) -> None:
        """Stop watching at once: before something else reads ``receive`` (a stream's own watcher)."""
        self._stopped = True
        self._task.cancel()

    def swallow(self) -> bool:
        """In an ``except CancelledError``: ``True`` (and the cancellation undone) if it was the client leaving."""
        if self.disconnected and self._owner is not None:
            self._owner.uncancel()
            return True
        return False
