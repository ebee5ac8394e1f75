"""Every replica drops a key from its cache when its attributes change (``gateway.api_key.updated.v1``).

The same core-subscription design as ``revocations.RevocationListener`` (whose watchdog already clears the whole
cache while NATS is down and after each reconnect, so a missed update counts for at most one tick there too).
"""

from __future__ import annotations

import logging

import msgspec
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from tollway.contracts import ApiKeyUpdatedV1, decode, subject_of
from tollway.gateway.keycache import KeyCache
from tollway.platform.messaging import Namespace

log = logging.getLogger(__name__)


class KeyUpdateListener:
    def __init__(self, nc: NatsClient, ns: Namespace, cache: KeyCache) -> None:
        self._nc = nc
        self._subject = ns.subject(subject_of(ApiKeyUpdatedV1))
        self._cache = cache
        self._subscription: Subscription | None = None

    async def start(self) -> None:
        self._subscription = await self._nc.subscribe(self._subject, cb=self._on_message)
        await self._nc.flush()

    async def close(self) -> None:
        if self._subscription is not None and not self._nc.is_closed:
            await self._subscription.unsubscribe()
        self._subscription = None

    async def _on_message(self, msg: Msg) -> None:
        try:
            event = decode(ApiKeyUpdatedV1, msg.data)
        except (msgspec.ValidationError, msgspec.DecodeError):
            log.warning("undecodable key update on %s; clearing the key cache", msg.subject)
            self._cache.clear()
            return
        # Tombstoned like a revocation: a lookup that read the row before the change committed cannot put it back.
        self._cache.evict_key(event.api_key_id)
