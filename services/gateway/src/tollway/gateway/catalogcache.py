"""The router's catalogue, cached per replica: fetched at start (retried until it works) and refreshed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from tollway.contracts.internal_api import CatalogOut
from tollway.gateway.domain.catalog import Catalogue

log = logging.getLogger(__name__)

CatalogFetch = Callable[[], Awaitable[CatalogOut]]


class CatalogCache:
    """Holds the last good catalogue; a failed refresh keeps serving it (the router may be restarting)."""

    def __init__(self, fetch: CatalogFetch, *, refresh_s: float, retry_s: float) -> None:
        self._fetch = fetch
        self._refresh_s = refresh_s
        self._retry_s = retry_s
        self._current: Catalogue | None = None

    def current(self) -> Catalogue | None:
        return self._current

    async def check(self) -> None:
        """Readiness: a gateway without a catalogue can only answer 503, so it is not ready."""
        if self._current is None:
            raise RuntimeError("the model catalogue has not been loaded from the router yet")

    async def refresh(self) -> None:
        catalogue = Catalogue(await self._fetch())
        if self._current is None:
            log.info("model catalogue loaded: %d models", len(catalogue))
        self._current = catalogue

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.refresh()
            except Exception as exc:
                level = logging.WARNING if self._current is None else logging.INFO
                log.log(level, "could not fetch the model catalogue (%s); retrying", exc)
            delay = self._retry_s if self._current is None else self._refresh_s
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
