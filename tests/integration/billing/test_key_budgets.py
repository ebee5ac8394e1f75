"""Per-key budgets on real Postgres/NATS: billing learns them from the gateway and announces each period once."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from nats.aio.client import Client as NatsClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.billing.conftest import completed, drained, registered, scalar
from tollway.billing import budgets, handlers
from tollway.billing.bootstrap import BillingServices
from tollway.billing.settings import BillingSettings
from tollway.billing.verify import audit
from tollway.contracts import ApiKeyBudgetChangedV1, BudgetExceededV1, decode, encode, utc_now
from tollway.platform.messaging import JetStreamPublisher, Namespace
from tollway.testing.processes import eventually

USAGE, BUDGETS = "billing__request_completed", "billing__key_budget_changed"
SUBJECT = "router.request.completed.v1"
EXCEEDED = "SELECT payload FROM billing.outbox WHERE subject = 'billing.budget.exceeded.v1' ORDER BY seq"


def budget(
    day: int | None = None, month: int | None = None, key: str = "key_1", **fields: Any
) -> ApiKeyBudgetChangedV1:
    limits = {"spend_limit_day_micros": day, "spend_limit_month_micros": month}
    return ApiKeyBudgetChangedV1(api_key_id=key, user_id="usr_1", **limits, **fields)


async def announcements(engine: AsyncEngine) -> list[BudgetExceededV1]:
    async with engine.connect() as conn:
        rows = (await conn.execute(text(EXCEEDED))).scalars().all()
    return [decode(BudgetExceededV1, payload) for payload in rows]


async def settle(s: BillingServices, *events: Any) -> int:
    return await handlers.settle_usage(events, s.ledger, s.balances, consumer=USAGE, policy=s.policy, clock=s.clock)


async def learn(s: BillingServices, *events: ApiKeyBudgetChangedV1) -> None:
    await budgets.record_key_budgets(events, s.ledger, consumer=BUDGETS)


async def test_a_redelivered_usage_event_never_announces_twice(
    engine: AsyncEngine, publisher: JetStreamPublisher, consumers: Any, nc: NatsClient, namespace: Namespace
) -> None:
    await publisher.publish(registered("usr_1"))
    await publisher.publish(budget(day=10_000, month=1_000_000))
    crossing = completed("r3", 4_000)
    async with consumers():
        await eventually(lambda: drained(nc, namespace, BUDGETS, "GATEWAY"), within=20, what="budget learned")
        for event in (completed("r1", 4_000), completed("r2", 4_000), crossing):
            await publisher.publish(event)
        await eventually(lambda: drained(nc, namespace, USAGE), within=20, what="usage acked")
        # The crossing debit again: under another Nats-Msg-Id, then as a new event id for the same request.
        await publisher.publish_raw(SUBJECT, encode(crossing), "r3-redelivered")
        await publisher.publish(completed("r3", 4_000, event_id="r3-new-event-id"))
        await publisher.publish(completed("r4", 4_000))  # past the limit: the period was announced already
        await eventually(lambda: drained(nc, namespace, USAGE), within=20, what="copies acked")
    (event,) = await announcements(engine)
    assert (event.api_key_id, event.user_id, event.window) == ("key_1", "usr_1", "day")
    assert (event.limit_micros, event.spent_micros) == (10_000, 12_000)
    assert event.period == utc_now().strftime("%Y%m%d")
    assert event.transaction_id == await scalar(
        engine, "SELECT id FROM billing.transactions WHERE reference = 'usage:r3'"
    )
    spent = "SELECT spent_micros FROM billing.key_spend WHERE api_key_id = 'key_1' AND budget_window = :w"
    assert await scalar(engine, spent, w="day") == await scalar(engine, spent, w="month") == 16_000


async def test_concurrent_debits_crossing_the_limit_announce_once(
    services: BillingServices, engine: AsyncEngine, settings: BillingSettings
) -> None:
    await learn(services, budget(day=50_000, month=50_000))
    # 40 batches at once, each able to cross on its own: the account lock makes them take turns.
    await asyncio.gather(*(settle(services, completed(f"c{i}", 3_000)) for i in range(40)))
    events = await announcements(engine)
    assert sorted(e.window for e in events) == ["day", "month"]
    assert {e.spent_micros for e in events} == {51_000}  # the 17th debit, whichever batch it was
    assert await scalar(engine, "SELECT count(*) FROM billing.key_spend WHERE exceeded_event_id IS NOT NULL") == 2
    report = await audit(settings)
    assert report.passed, report.render()


async def test_spend_before_billing_heard_of_the_budget_counts(services: BillingServices, engine: AsyncEngine) -> None:
    await settle(services, completed("early1", 6_000), completed("early2", 3_000))  # no budget known yet
    assert await scalar(engine, "SELECT count(*) FROM billing.key_spend") == 0
    await learn(services, budget(day=10_000))
    await settle(services, completed("late", 2_000))
    (event,) = await announcements(engine)
    assert (event.window, event.spent_micros, event.limit_micros) == ("day", 11_000, 10_000)


async def test_an_older_budget_arriving_late_does_not_replace_a_newer_one(
    services: BillingServices, engine: AsyncEngine
) -> None:
    now = utc_now()
    await learn(services, budget(day=100_000, occurred_at=now))
    await learn(services, budget(day=1_000, occurred_at=now - timedelta(seconds=5)))  # relayed late
    await settle(services, completed("r1", 5_000))
    assert await announcements(engine) == []
    await learn(services, budget(day=None, month=4_000, occurred_at=now + timedelta(seconds=5)))
    await settle(services, completed("r2", 5_000))
    (event,) = await announcements(engine)
    assert (event.window, event.spent_micros, event.limit_micros) == ("month", 10_000, 4_000)


async def test_the_period_is_the_requests_not_billings(services: BillingServices, engine: AsyncEngine) -> None:
    """A debit posted after midnight for a request completed before it counts for the day it was spent in."""
    await learn(services, budget(day=10_000))
    yesterday = utc_now() - timedelta(days=1)
    await settle(services, completed("old", 8_000, occurred_at=yesterday), completed("new", 8_000))
    assert await announcements(engine) == []
    periods = "SELECT string_agg(period, ',' ORDER BY period) FROM billing.key_spend WHERE budget_window = 'day'"
    assert await scalar(engine, periods) == f"{yesterday:%Y%m%d},{utc_now():%Y%m%d}"
