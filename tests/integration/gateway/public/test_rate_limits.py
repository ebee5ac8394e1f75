"""Rate limits across replicas: one shared Redis decision, overrides set through the admin API, SDK retries."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

import anthropic
import httpx2
import openai
import pytest
from nats.js.kv import KeyValue
from redis.asyncio import Redis

from tests.integration.gateway.conftest import ADMIN
from tests.integration.gateway.public.support import (
    USD,
    Gateway,
    GatewayFactory,
    bearer,
    chat_body,
    open_account,
    until,
)
from tollway.testing.processes import free_port

HELLO = [{"role": "user", "content": "hi"}]


async def test_a_60_rpm_key_gets_60_of_300_requests_over_three_replicas(
    start_gateway: GatewayFactory, balances: KeyValue
) -> None:
    # A 100-minute "minute" refills one request per 100 s, so the count cannot drift while the test runs, even on
    # a loaded machine (with 10 s per refill, a run at load 12 once admitted 62).
    async with AsyncExitStack() as stack:
        gateways = [await stack.enter_async_context(start_gateway(rate_minute_s=6000)) for _ in range(3)]
        account = await open_account(gateways[0], balances, 100 * USD)
        put = await gateways[0].client.put(
            f"/admin/v1/api-keys/{account.key_id}/rate-limits", json={"rpm": 60}, headers=ADMIN
        )
        await until(lambda: all(g.public.limits.for_key(account.key_id).rpm == 60 for g in gateways))

        async def one(gateway: Gateway) -> httpx2.Response:
            return await gateway.client.post("/v1/chat/completions", json=chat_body(), headers=bearer(account.key))

        responses = await asyncio.gather(*(one(gateways[i % 3]) for i in range(300)))

    statuses = [r.status_code for r in responses]
    assert put.json() == {
        "subject": "api_key",
        "id": account.key_id,
        "rpm": 60,
        "tpm": None,
        "rpd": None,
        "object": "rate_limits",
    }
    assert 60 <= statuses.count(200) <= 61
    assert statuses.count(429) == 300 - statuses.count(200)
    refused = next(r for r in responses if r.status_code == 429)
    assert int(refused.headers["retry-after"]) >= 1
    assert int(refused.headers["retry-after-ms"]) > 0
    assert refused.headers["x-ratelimit-limit-requests"] == "60"
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"


async def test_the_openai_client_succeeds_after_retry_after(start_gateway: GatewayFactory, balances: KeyValue) -> None:
    async with start_gateway(rpm=2, rate_minute_s=1) as gateway:  # two per second: one refill every 500 ms
        account = await open_account(gateway, balances, USD)
        client = gateway.openai(account.key)  # default retries
        for _ in range(2):
            await client.chat.completions.create(model="fake-model", messages=HELLO)
        raw = await client.chat.completions.with_raw_response.create(model="fake-model", messages=HELLO)
        with pytest.raises(anthropic.RateLimitError) as limited:
            await gateway.anthropic(account.key, max_retries=0).messages.create(
                model="fake-model", max_tokens=5, messages=HELLO
            )

    assert raw.retries_taken >= 1
    assert raw.parse().choices[0].message.content
    assert limited.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]
    assert limited.value.response.headers["retry-after"] == "1"


async def test_a_user_limit_spans_all_of_its_keys(start_gateway: GatewayFactory, balances: KeyValue) -> None:
    async with start_gateway() as gateway:
        account = await open_account(gateway, balances, USD)
        second = (
            await gateway.client.post(f"/admin/v1/users/{account.user_id}/api-keys", json={}, headers=ADMIN)
        ).json()
        await gateway.client.put(f"/admin/v1/users/{account.user_id}/rate-limits", json={"rpm": 3}, headers=ADMIN)
        statuses = [
            (await gateway.client.post("/v1/chat/completions", json=chat_body(), headers=bearer(key))).status_code
            for key in (account.key, second["key"]) * 3
        ]
        cleared = await gateway.client.delete(f"/admin/v1/users/{account.user_id}/rate-limits", headers=ADMIN)
        after = await gateway.client.post("/v1/chat/completions", json=chat_body(), headers=bearer(account.key))
        missing = await gateway.client.put("/admin/v1/users/usr_nobody/rate-limits", json={"rpm": 1}, headers=ADMIN)
        negative = await gateway.client.put(
            f"/admin/v1/users/{account.user_id}/rate-limits", json={"rpm": -1}, headers=ADMIN
        )

    assert statuses == [200, 200, 200, 429, 429, 429]
    assert cleared.json()["rpm"] is None
    assert after.status_code == 200
    assert (missing.status_code, negative.status_code) == (404, 400)


async def test_token_reservations_are_corrected_to_the_tokens_used(
    start_gateway: GatewayFactory, balances: KeyValue
) -> None:
    async with start_gateway(tpm=3000) as gateway:
        account = await open_account(gateway, balances, USD)
        body = chat_body(max_tokens=1000)  # reserves ~1,020 tokens; the fake router reports ~25
        first = await gateway.client.post("/v1/chat/completions", json=body, headers=bearer(account.key))
        await gateway.public.settlements.drain()
        second = await gateway.client.post("/v1/chat/completions", json=body, headers=bearer(account.key))
        too_big = await gateway.client.post(
            "/v1/chat/completions", json=chat_body(max_tokens=1024, pad="x" * 9000), headers=bearer(account.key)
        )

    first_left = int(first.headers["x-ratelimit-remaining-tokens"])
    second_left = int(second.headers["x-ratelimit-remaining-tokens"])
    assert 1900 <= first_left <= 2000
    assert second_left > first_left - 100  # the first request's unused reservation came back
    assert too_big.status_code == 413
    assert too_big.json()["error"]["code"] == "tokens_exceed_limit"


async def test_scripts_survive_script_flush_behind_the_app(
    start_gateway: GatewayFactory, balances: KeyValue, redis_client: Redis
) -> None:
    async with start_gateway(rpm=100) as gateway:
        account = await open_account(gateway, balances, USD)
        before = await gateway.client.post("/v1/chat/completions", json=chat_body(), headers=bearer(account.key))
        await redis_client.script_flush()  # what a Redis restart or failover does to the script cache
        after = await gateway.client.post("/v1/chat/completions", json=chat_body(), headers=bearer(account.key))

    assert (before.status_code, after.status_code) == (200, 200)
    assert after.headers["x-ratelimit-remaining-requests"] == "98"


async def test_redis_down_fails_closed_with_503_unless_told_to_fail_open(
    start_gateway: GatewayFactory, balances: KeyValue
) -> None:
    closed_port = f"redis://127.0.0.1:{free_port()}/0"
    async with start_gateway(redis_url=closed_port, rpm=10) as gateway:
        account = await open_account(gateway, balances, USD)
        with pytest.raises(openai.InternalServerError) as refused:
            await gateway.openai(account.key, max_retries=0).chat.completions.create(model="fake-model", messages=HELLO)
        ready = await gateway.client.get("/ready")
    async with start_gateway(redis_url=closed_port, rate_limit_fail_open=True) as gateway:
        account = await open_account(gateway, balances, USD)
        admitted = await gateway.client.post("/v1/chat/completions", json=chat_body(), headers=bearer(account.key))

    assert refused.value.status_code == 503
    assert refused.value.message.endswith("rate limiting is unavailable; please retry shortly")
    assert ready.status_code == 503
    assert admitted.status_code == 200
    assert "x-ratelimit-limit-requests" not in admitted.headers
