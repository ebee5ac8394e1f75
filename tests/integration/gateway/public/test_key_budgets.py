"""Per-key day and month budgets at the credit gate: holds bound overspend, settlement counts the real cost."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime

import httpx2
from nats.js.kv import KeyValue
from redis.asyncio import Redis

from tests.integration.gateway.public.fakerouter import PRICES, FakeRouter
from tests.integration.gateway.public.support import GatewayFactory, bearer, chat_body, open_account
from tests.integration.gateway.public.test_admission_script import admission
from tollway.gateway.domain.admission import (
    AdmissionPlan,
    Budget,
    Outcome,
    budget_periods,
    cost_micros,
    prompt_token_estimate,
)

NOW = datetime(2026, 12, 3, 23, 59, tzinfo=UTC)
DAY, MONTH = budget_periods(NOW)["day"], budget_periods(NOW)["month"]


def plan(request_id: str, hold: int, *budgets: Budget) -> AdmissionPlan:
    return AdmissionPlan(
        request_id=request_id,
        account="usr_1",
        windows=(),
        hold_micros=hold,
        balance_micros=10**12,
        reserved_tokens=0,
        api_key_id="key_1",
        budgets=budgets,
    )


def day(limit: int) -> Budget:
    return Budget(window="day", period=DAY, limit_micros=limit)


def month(limit: int) -> Budget:
    return Budget(window="month", period=MONTH, limit_micros=limit)


async def test_a_budget_counts_the_hold_until_settled_then_the_cost(redis_client: Redis, redis_prefix: str) -> None:
    gate = admission(redis_client, redis_prefix)
    first = await gate.admit(plan("r1", 600, day(1000), month(5000)))
    refused = await gate.admit(plan("r2", 600, day(1000), month(5000)))
    await gate.settle(plan("r1", 600, day(1000), month(5000)), cost_micros=150, token_delta=None)
    after = await gate.admit(plan("r3", 600, day(1000), month(5000)))

    assert first.outcome is Outcome.ADMITTED
    assert (refused.outcome, refused.blocking, refused.available_micros) == (Outcome.OVER_BUDGET, 0, 400)
    assert after.outcome is Outcome.ADMITTED
    assert await gate.key_spend("usr_1", "key_1", {"day": DAY, "month": MONTH}) == {"day": 750, "month": 750}


async def test_the_month_budget_refuses_when_the_day_has_room(redis_client: Redis, redis_prefix: str) -> None:
    gate = admission(redis_client, redis_prefix)
    assert (await gate.admit(plan("r1", 400, day(10_000), month(700)))).outcome is Outcome.ADMITTED
    refused = await gate.admit(plan("r2", 400, day(10_000), month(700)))
    assert (refused.outcome, refused.blocking, refused.available_micros) == (Outcome.OVER_BUDGET, 1, 300)
    # A refused request charged nothing: not the day budget, not the balance's holds.
    assert await gate.key_spend("usr_1", "key_1", {"day": DAY, "month": MONTH}) == {"day": 400, "month": 400}


async def test_a_failed_request_gives_its_hold_back_to_the_budget(redis_client: Redis, redis_prefix: str) -> None:
    gate = admission(redis_client, redis_prefix)
    await gate.admit(plan("r1", 900, day(1000)))
    await gate.settle(plan("r1", 900, day(1000)), cost_micros=0, token_delta=None)
    assert await gate.key_spend("usr_1", "key_1", {"day": DAY}) == {"day": 0}
    assert (await gate.admit(plan("r2", 900, day(1000)))).outcome is Outcome.ADMITTED


async def test_concurrent_admissions_never_pass_the_budget(redis_client: Redis, redis_prefix: str) -> None:
    """200 requests at once, random real costs up to each hold: the settled spend never passes the limit."""
    gate, limit = admission(redis_client, redis_prefix), 5_000
    spent: list[int] = []
    connections = asyncio.Semaphore(16)  # the test client's pool; still many calls in flight at once

    async def one(i: int) -> None:
        hold = random.randint(50, 400)
        request = plan(f"r{i}", hold, day(limit), month(limit * 3))
        await asyncio.sleep(random.uniform(0, 0.2))
        async with connections:
            admitted = (await gate.admit(request)).outcome is Outcome.ADMITTED
        if admitted:
            cost = random.randint(0, hold)
            await asyncio.sleep(random.uniform(0, 0.05))
            async with connections:
                await gate.settle(request, cost_micros=cost, token_delta=None)
            spent.append(cost)

    await asyncio.gather(*(one(i) for i in range(200)))
    counted = await gate.key_spend("usr_1", "key_1", {"day": DAY, "month": MONTH})
    assert 0 < sum(spent) <= limit
    assert counted == {"day": sum(spent), "month": sum(spent)}


async def test_concurrent_requests_against_a_small_key_budget_over_http(
    start_gateway: GatewayFactory, balances: KeyValue, fake_router: FakeRouter
) -> None:
    """The real route: 402 ``key_budget_exceeded`` naming the window; spend never past the limit; /spend agrees."""
    async with start_gateway() as gateway:
        owner = await open_account(gateway, balances, 10_000_000)
        body = chat_body(max_tokens=200)
        worst = cost_micros(prompt_token_estimate(len(httpx2.Request("POST", "/", json=body).content)), 200, PRICES)
        limit = worst * 5 + worst // 2
        created = await gateway.client.post(
            "/v1/keys", json={"name": "budgeted", "spend_limit_day_micros": limit}, headers=bearer(owner.key)
        )
        assert created.status_code == 201, created.text
        key, key_id = created.json()["key"], created.json()["id"]
        fake_router.delay_s = (0.01, 0.1)
        fake_router.completion_tokens = lambda cap: random.randint(cap // 2, cap)

        async def one() -> httpx2.Response:
            await asyncio.sleep(random.uniform(0, 0.3))
            return await gateway.client.post("/v1/chat/completions", json=body, headers=bearer(key))

        responses = await asyncio.gather(*(one() for _ in range(40)))
        await gateway.public.settlements.drain()
        spend = await gateway.client.get(f"/v1/keys/{key_id}/spend", headers=bearer(owner.key))
        stranger = await open_account(gateway)
        hidden = await gateway.client.get(f"/v1/keys/{key_id}/spend", headers=bearer(stranger.key))

    statuses = [r.status_code for r in responses]
    charged = sum(call.cost_micros for call in fake_router.calls)
    assert statuses.count(200) == len(fake_router.calls) >= 5
    assert statuses.count(402) == 40 - len(fake_router.calls) > 0
    assert charged <= limit  # every reported cost is at most its hold here, so not even one request's worst case
    error = next(r for r in responses if r.status_code == 402).json()["error"]
    assert (error["code"], error["param"]) == ("key_budget_exceeded", "spend_limit_day_micros")
    assert "daily spend limit" in error["message"]
    assert spend.status_code == 200, spend.text
    assert spend.json()["day"]["spend_micros"] == charged  # the counter holds exactly the settled costs
    assert spend.json()["day"]["limit_micros"] == limit
    assert spend.json()["day"]["remaining_micros"] == limit - charged
    assert spend.json()["month"]["limit_micros"] is None
    assert hidden.status_code == 404
