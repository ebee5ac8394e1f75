"""Staged credit events reach the BILLING stream through the platform relay, decodable by the billing team."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from nats.aio.client import Client as NatsClient
from nats.js.api import ConsumerConfig, DeliverPolicy
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.billing.conftest import completed, registered
from tollway.billing import handlers
from tollway.billing.bootstrap import BillingServices
from tollway.billing.db.tables import messaging
from tollway.contracts import BalanceExhaustedV1, BalanceLowV1, CreditDebitedV1, CreditGrantedV1, decode
from tollway.contracts.streams import BILLING_STREAM
from tollway.platform.messaging import JetStreamPublisher, Namespace, OutboxRelay

Credit = CreditDebitedV1 | CreditGrantedV1 | BalanceLowV1 | BalanceExhaustedV1


async def test_relayed_events_tell_the_whole_story(
    services: BillingServices, engine: AsyncEngine, nc: NatsClient, namespace: Namespace
) -> None:
    s = services
    await handlers.open_accounts(
        [registered("usr_1")], s.ledger, s.balances, consumer="t", policy=s.policy, clock=s.clock
    )
    usage = [completed("r1", 4_500_000), completed("r2", 600_000)]
    await handlers.settle_usage(usage, s.ledger, s.balances, consumer="u", policy=s.policy, clock=s.clock)
    relay = OutboxRelay(engine, messaging.outbox, JetStreamPublisher(nc.jetstream(), namespace))
    assert (await relay.relay_once()).sent == 5
    sub = await nc.jetstream().pull_subscribe(
        namespace.subject("billing.>"), durable="finance", stream=namespace.stream(BILLING_STREAM.name)
    )
    messages = await sub.fetch(10, timeout=5)
    events: list[Credit] = [decode(Credit, m.data) for m in messages]  # type: ignore[arg-type]
    kinds = sorted(type(e).__name__ for e in events)
    assert kinds == ["BalanceExhaustedV1", "BalanceLowV1", "CreditDebitedV1", "CreditDebitedV1", "CreditGrantedV1"]
    credits = [e for e in events if isinstance(e, CreditDebitedV1 | CreditGrantedV1)]
    assert sum(e.amount_micros for e in credits) == 5_000_000 - 5_100_000
    assert sorted(e.account_seq for e in credits) == [1, 2, 3]
    assert all(m.headers and m.headers.get("Nats-Msg-Id") for m in messages)


async def test_a_consumer_can_replay_the_billing_stream_from_a_point_in_time(
    services: BillingServices, engine: AsyncEngine, nc: NatsClient, namespace: Namespace
) -> None:
    """The README's replay-from-time example: a new durable that starts at a timestamp sees only what came after."""
    s = services
    relay = OutboxRelay(engine, messaging.outbox, JetStreamPublisher(nc.jetstream(), namespace))
    await handlers.open_accounts([registered("usr_1")], s.ledger, s.balances, consumer="t", policy=s.policy,
                                 clock=s.clock)  # fmt: skip
    assert (await relay.relay_once()).sent == 1  # the trial grant, before the replay point
    await asyncio.sleep(0.05)
    since = datetime.now(UTC)
    await asyncio.sleep(0.05)
    usage = [completed("r1", 100_000), completed("r2", 200_000)]
    await handlers.settle_usage(usage, s.ledger, s.balances, consumer="u", policy=s.policy, clock=s.clock)
    assert (await relay.relay_once()).sent == 2

    config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_TIME, opt_start_time=since)
    sub = await nc.jetstream().pull_subscribe(
        namespace.subject("billing.credit.>"), durable="finance_replay", stream=namespace.stream("BILLING"),
        config=config,
    )  # fmt: skip
    messages = await sub.fetch(10, timeout=5)
    replayed = [decode(CreditDebitedV1, m.data) for m in messages]
    assert sorted(e.request_id for e in replayed) == ["r1", "r2"]
    for message in messages:
        await message.ack()
