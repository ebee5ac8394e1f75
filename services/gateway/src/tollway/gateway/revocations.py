"""Every replica evicts revoked keys from its cache: a core NATS subscription plus a connection watchdog."""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress

import msgspec
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from tollway.contracts import ApiKeyRevokedV1, decode, subject_of
from tollway.gateway.keycache import KeyCache
from tollway.platform.messaging import Namespace

log = logging.getLogger(__name__)


class RevocationListener:
    """Evicts on ``gateway.api_key.revoked.v1``; clears the cache whenever events may have been missed.

    A core subscription (not a durable consumer) because every replica needs every event and none needs history:
    nothing to provision or clean up per replica, and nats-py re-subscribes after a reconnect by itself. What a
    core subscription cannot do is replay what was published while disconnected, so the watchdog clears the
    whole cache while the connection is down and once more after each reconnect: the next use of each key then
    re-reads Postgres, and a revocation is never missed for longer than one watchdog tick.
    """

    def __init__(self, nc: NatsClient, ns: Namespace, cache: KeyCache, *, tick_s: float = 1.0) -> None:
        self._nc = nc
        self._subject = ns.subject(subject_of(ApiKeyRevokedV1))
        self._cache = cache
        self._tick_s = tick_s
        self._subscription: Subscription | None = None
        self._seen_reconnects = self._reconnects()

    async def start(self) -> None:
        """Subscribe; once this returns, every later revocation reaches this replica's cache."""
        self._subscription = await self._nc.subscribe(self._subject, cb=self._on_message)
        await self._nc.flush()  # the server has registered the interest before the app serves a request

    async def watch(self, stop: asyncio.Event) -> None:
        """Check the connection every tick until ``stop`` is set."""
        while not stop.is_set():
            self.check_connection()
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._tick_s)

    def check_connection(self) -> None:
        """Clear the cache if revocations may have been missed: disconnected now, or reconnected since last time."""
        current = self._reconnects()
        if not self._nc.is_connected or current != self._seen_reconnects:
            self._cache.clear()
            self._seen_reconnects = current

    async def close(self) -> None:
        if self._subscription is not None and not self._nc.is_closed:
            await self._subscription.unsubscribe()
        self._subscription = None

    async def _on_message(self, msg: Msg) -> None:
        try:
            event = decode(ApiKeyRevokedV1, msg.data)
        except (msgspec.ValidationError, msgspec.DecodeError):
            # Unreadable, so we cannot tell which key: forgetting everything is the safe reading.
            log.warning("undecodable revocation event on %s; clearing the key cache", msg.subject)
            self._cache.clear()
            return
        self._cache.evict_key(event.api_key_id)

    def _reconnects(self) -> int:
        return int(self._nc.stats.get("reconnects", 0))
