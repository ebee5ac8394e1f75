"""What a running stack recorded for one user: the router's completed events, billing's debits, analytics' rows."""

from __future__ import annotations

from typing import Any

from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tollway.contracts import RequestCompletedV1, decode, subject_of
from tollway.contracts.streams import ROUTER_STREAM
from tollway.platform.messaging import Namespace, connect_nats

_DEBITS = text(
    "SELECT t.metadata->>'request_id', -t.amount_micros FROM billing.transactions t "
    "JOIN billing.accounts a ON a.id = t.account_id WHERE a.user_id = :user AND t.type = 'usage'"
)
_ROWS = text("SELECT request_id, cost_micros FROM analytics.requests WHERE user_id = :user")


async def completed_events(nats_url: str, namespace: str, user_id: str) -> dict[str, int]:
    """Request id → cost of every completed event on the ROUTER stream for the user.

    The stream is the source of truth: the router publishes there directly, and its outbox relay republishes there
    what it spooled when NATS did not ack (JetStream drops the duplicate by its message id).
    """
    nc = await connect_nats(nats_url, "recorded-usage")
    try:
        ns = Namespace(namespace)
        config = ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE)
        sub = await nc.jetstream().pull_subscribe(
            ns.subject(subject_of(RequestCompletedV1)), stream=ns.stream(ROUTER_STREAM.name), config=config
        )
        left = (await sub.consumer_info()).num_pending or 0
        events: list[RequestCompletedV1] = []
        while left > 0:
            batch = await sub.fetch(min(left, 1000), timeout=10)
            events += [decode(RequestCompletedV1, msg.data) for msg in batch]
            left -= len(batch)
        await sub.unsubscribe()
    finally:
        await nc.close()
    return {e.request_id: e.cost_micros for e in events if e.user_id == user_id}


class Recorded:
    """request id → cost per store, and how many request ids a store holds more than once (must be none)."""

    def __init__(self, pairs: list[Any]) -> None:
        self.costs = {str(key): int(value) for key, value in pairs}
        self.duplicates = len(pairs) - len(self.costs)


async def debits(engine: AsyncEngine, user_id: str) -> Recorded:
    return await _recorded(engine, _DEBITS, user_id)


async def analytics_rows(engine: AsyncEngine, user_id: str) -> Recorded:
    return await _recorded(engine, _ROWS, user_id)


async def _recorded(engine: AsyncEngine, query: Any, user_id: str) -> Recorded:
    async with engine.connect() as conn:
        return Recorded(list((await conn.execute(query, {"user": user_id})).all()))
