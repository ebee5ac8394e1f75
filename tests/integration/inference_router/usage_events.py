"""Reading the router's usage events where consumers read them: its JetStream stream."""

from __future__ import annotations

import msgspec
from nats.aio.client import Client as NatsClient
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from tollway.contracts import RequestCompletedV1, RequestFailedV1
from tollway.platform.messaging import Namespace
from tollway.testing.processes import eventually

UsageEvent = RequestCompletedV1 | RequestFailedV1
_decode_event = msgspec.json.Decoder(UsageEvent).decode


class UsageEvents:
    """The router's usage events as consumers see them: on its JetStream stream (outbox fallback relayed there)."""

    def __init__(self, nc: NatsClient, namespace: str) -> None:
        self._js = nc.jetstream()
        self._ns = Namespace(namespace)

    async def all(self) -> list[UsageEvent]:
        config = ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE)
        sub = await self._js.pull_subscribe(
            self._ns.subject("router.request.>"), stream=self._ns.stream("ROUTER"), config=config
        )
        try:
            left = (await sub.consumer_info()).num_pending or 0
            events: list[UsageEvent] = []
            while left > 0:
                batch = await sub.fetch(min(left, 1000), timeout=5)
                events += [_decode_event(msg.data) for msg in batch]
                left -= len(batch)
            return events
        finally:
            await sub.unsubscribe()

    async def of(self, request_id: str, within: float = 5.0) -> list[UsageEvent]:
        """The request's events, once at least one is there."""
        found: list[UsageEvent] = []

        async def published() -> bool:
            found[:] = [e for e in await self.all() if e.request_id == request_id]
            return bool(found)

        await eventually(published, within=within, interval=0.05, what=f"the usage event of {request_id}")
        return found
