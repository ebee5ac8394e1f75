"""The credit gate: holds bound concurrent overspend across replicas, and balances arrive from billing's bucket."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from contextlib import AsyncExitStack

import httpx2
from nats.js.kv import KeyValue
from redis.asyncio import Redis

from tests.integration.gateway.public.fakerouter import PRICES, Call, FakeRouter
from tests.integration.gateway.public.support import (
    USD,
    Gateway,
    GatewayFactory,
    bearer,
    chat_body,
    open_account,
    set_balance,
    until,
)
from tollway.gateway.domain.admission import cost_micros, prompt_token_estimate
from tollway.platform.redis import RedisKeys

BALANCE = 50_000  # $0.05
MAX_TOKENS = 1000


class FakeBilling:
    """Debits each completed call from the bucket after a lag, with a higher version each time, like billing."""

    def __init__(self, kv: KeyValue, user_id: str, balance: int) -> None:
        self.kv, self.user_id, self.balance = kv, user_id, balance
        self.pending: list[asyncio.Task[None]] = []
        self._lock = asyncio.Lock()

    async def on_complete(self, call: Call) -> None:
        self.pending.append(asyncio.create_task(self._debit(call.cost_micros)))

    async def _debit(self, amount: int) -> None:
        await asyncio.sleep(random.uniform(0.05, 0.25))  # router outbox -> billing consumer -> balances bucket
        async with self._lock:
            self.balance -= amount
            await set_balance(self.kv, self.user_id, self.balance)


async def test_200_concurrent_requests_over_3_replicas_never_spend_beyond_the_bound(
    start_gateway: GatewayFactory,
    balances: KeyValue,
    fake_router: FakeRouter,
) -> None:
    async with AsyncExitStack() as stack:
        gateways = [await stack.enter_async_context(start_gateway()) for _ in range(3)]
        account = await open_account(gateways[0], balances, BALANCE)
        await until(lambda: all(g.public.balances.balance_of(account.user_id) == BALANCE for g in gateways))
        billing = FakeBilling(balances, account.user_id, BALANCE)
        fake_router.on_complete = billing.on_complete
        fake_router.delay_s = (0.01, 0.1)
        fake_router.completion_tokens = lambda cap: random.randint(cap // 2, cap)  # never above the cap
        body = chat_body(max_tokens=MAX_TOKENS)
        max_cost = cost_micros(
            prompt_token_estimate(len(httpx2.Request("POST", "/", json=body).content)), MAX_TOKENS, PRICES
        )

        async def one(gateway: Gateway) -> int:
            await asyncio.sleep(random.uniform(0, 0.8))  # arrivals spread over time: some finish before others start
            return (
                await gateway.client.post("/v1/chat/completions", json=body, headers=bearer(account.key))
            ).status_code

        statuses = await asyncio.gather(*(one(gateways[i % 3]) for i in range(200)))
        await asyncio.gather(*billing.pending)

    admitted_cost = sum(call.cost_micros for call in fake_router.calls)
    assert set(statuses) == {200, 402}, Counter(statuses)
    assert statuses.count(200) == len(fake_router.calls) > 0
    assert statuses.count(402) == 200 - len(fake_router.calls) > 0
    assert admitted_cost <= BALANCE + max_cost  # the bound; every reported cost is <= its hold here, so in fact:
    assert admitted_cost <= BALANCE
    assert billing.balance >= 0


async def test_a_funded_account_is_admitted_once_the_bucket_update_arrives(
    start_gateway: GatewayFactory,
    balances: KeyValue,
    fake_router: FakeRouter,
) -> None:
    async with start_gateway() as gateway:
        account = await open_account(gateway, balances, 0)
        refused = await gateway.client.post("/v1/chat/completions", json=chat_body(), headers=bearer(account.key))
        await set_balance(balances, account.user_id, USD)
        await until(lambda: gateway.public.balances.balance_of(account.user_id) == USD, timeout_s=10.0)
        admitted = await gateway.client.post("/v1/chat/completions", json=chat_body(), headers=bearer(account.key))

    assert refused.status_code == 402
    assert admitted.status_code == 200
    assert len(fake_router.calls) == 1


async def test_a_finished_request_counts_its_cost_until_billing_shows_it(
    start_gateway: GatewayFactory,
    balances: KeyValue,
    fake_router: FakeRouter,
    redis_client: Redis,
    gateway_redis_keys: RedisKeys,
) -> None:
    async with start_gateway(settled_hold_s=0.3) as gateway:
        account = await open_account(gateway, balances, USD)
        response = await gateway.client.post(
            "/v1/chat/completions", json=chat_body(max_tokens=500), headers=bearer(account.key)
        )
        await gateway.public.settlements.drain()
        holds = gateway_redis_keys.key("hold", "{" + account.user_id + "}")
        counted = int(await redis_client.hget(holds, "~total") or 0)
        await asyncio.sleep(0.4)
        await gateway.client.post("/v1/chat/completions", json=chat_body(max_tokens=500), headers=bearer(account.key))
        await gateway.public.settlements.drain()
        later = int(await redis_client.hget(holds, "~total") or 0)

    first_cost = fake_router.calls[0].cost_micros
    assert response.status_code == 200
    assert counted == first_cost  # the hold (~1,000 micro-USD) became the cost the usage showed
    assert later == fake_router.calls[1].cost_micros  # the first cost's settle window has passed
