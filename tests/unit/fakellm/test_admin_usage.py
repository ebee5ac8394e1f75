"""The emulated provider admin usage/cost APIs: fixture rows, day buckets, pagination, auth."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import httpx
import pytest

from tollway.fakellm.admin_usage import ANTHROPIC_COST, ANTHROPIC_USAGE
from tollway.fakellm.asgi import app

ROWS = [
    {"provider": "anthropic", "model": "claude-b", "day": "2026-11-01", "input_tokens": 10, "output_tokens": 5,
     "cache_read_tokens": 3, "cache_write_tokens": 2, "cost_micros": 1_234_500},
    {"provider": "anthropic", "model": "claude-a", "day": "2026-11-02", "input_tokens": 1, "cost_micros": 100},
    {"provider": "openai", "model": "gpt-x", "day": "2026-11-01", "input_tokens": 7, "output_tokens": 4,
     "cache_read_tokens": 2, "cost_micros": 250_000},
]  # fmt: skip


@pytest.fixture
async def client() -> Any:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://fake") as c:
        loaded = await c.post("/_fakellm/admin-usage", json={"rows": ROWS, "page_size": 2})
        assert loaded.json() == {"rows": 3}
        yield c
        await c.post("/_fakellm/admin-usage", json={})


async def test_anthropic_usage_pages_by_day_with_cache_token_types(client: httpx.AsyncClient) -> None:
    params = {"starting_at": "2026-11-01T00:00:00Z", "ending_at": "2026-11-04T00:00:00Z", "group_by[]": "model"}
    first = await client.get("/v1/organizations/usage_report/messages", params=params, headers={"x-api-key": "k"})
    body = first.json()
    assert (len(body["data"]), body["has_more"], body["next_page"]) == (2, True, "2")
    result = body["data"][0]["results"][0]
    assert (result["model"], result["uncached_input_tokens"], result["cache_read_input_tokens"]) == ("claude-b", 10, 3)
    assert result["cache_creation"]["ephemeral_5m_input_tokens"] == 2
    last = await client.get(
        "/v1/organizations/usage_report/messages", params={**params, "page": "2"}, headers={"x-api-key": "k"}
    )
    assert (len(last.json()["data"]), last.json()["has_more"], last.json()["next_page"]) == (1, False, None)
    cost = await client.get("/v1/organizations/cost_report", params=params, headers={"x-api-key": "k"})
    assert cost.json()["data"][0]["results"][0]["amount"] == "123.45"  # cents


async def test_openai_usage_and_costs(client: httpx.AsyncClient) -> None:
    params = {"start_time": "1793491200", "end_time": "1793577600", "group_by": "model"}  # 2026-11-01, one day
    auth = {"authorization": "Bearer sk-admin"}
    usage = (await client.get("/v1/organization/usage/completions", params=params, headers=auth)).json()
    result = usage["data"][0]["results"][0]
    assert (result["input_tokens"], result["input_cached_tokens"], result["output_tokens"]) == (9, 2, 4)
    costs = (await client.get("/v1/organization/costs", params=params, headers=auth)).json()
    assert costs["data"][0]["results"][0]["amount"] == {"value": 0.25, "currency": "usd"}
    assert costs["has_more"] is False


async def test_admin_key_required(client: httpx.AsyncClient) -> None:
    answer = await client.get("/v1/organization/costs", params={"start_time": "1793491200"})
    assert answer.status_code == 401
    assert answer.json()["error"]["message"]


async def test_rate_limit_every_nth_request(client: httpx.AsyncClient) -> None:
    await client.post("/_fakellm/admin-usage", json={"rows": ROWS, "rate_limit_every": 2})
    params, auth = {"start_time": "1793491200"}, {"authorization": "Bearer k"}
    statuses = [(await client.get("/v1/organization/costs", params=params, headers=auth)) for _ in range(3)]
    assert [answer.status_code for answer in statuses] == [200, 429, 200]
    assert statuses[1].headers["retry-after"] == "0"


PRICES = {
    "fake-gpt": {"input": 2_500_000, "output": 10_000_000},
    "fake-claude-haiku": {"input": 800_000, "output": 4_000_000, "cache_read": 80_000, "cache_write": 1_000_000},
}


async def test_served_usage_is_reported_priced_per_request_and_can_be_overreported() -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://fake") as c:
        await c.post("/_fakellm/reset")
        prompt = [{"role": "user", "content": "x" * 4000}]  # 1000 prompt tokens; 20 completion tokens
        for _ in range(3):
            served = await c.post("/v1/chat/completions", json={"model": "fake-gpt", "messages": prompt})
            assert served.status_code == 200
        haiku = {"model": "fake-claude-haiku+cache_read=10+cache_write=4", "messages": prompt, "max_tokens": 50}
        assert (await c.post("/v1/messages", json=haiku)).status_code == 200
        failed = {"model": "fake-gpt+status=503", "messages": prompt}
        assert (await c.post("/v1/chat/completions", json=failed)).status_code == 503  # not served, not billed
        try:
            await c.post("/_fakellm/admin-usage", json={"served_prices": PRICES})
            today = datetime.now(UTC).date()
            start = int(datetime.combine(today, time(), UTC).timestamp())
            params = {"start_time": str(start), "end_time": str(start + 86_400), "group_by": "model"}
            auth = {"authorization": "Bearer sk-admin"}
            usage = (await c.get("/v1/organization/usage/completions", params=params, headers=auth)).json()
            (result,) = usage["data"][0]["results"]
            assert (result["model"], result["input_tokens"], result["output_tokens"]) == ("fake-gpt", 3000, 60)
            costs = (await c.get("/v1/organization/costs", params=params, headers=auth)).json()
            assert costs["data"][0]["results"][0]["amount"]["value"] == 3 * 2700 / 1_000_000
            window = {"starting_at": f"{today}T00:00:00Z", "ending_at": f"{today + timedelta(days=1)}T00:00:00Z"}
            key = {"x-api-key": "k"}
            (claude,) = (await c.get(ANTHROPIC_USAGE, params=window, headers=key)).json()["data"][0]["results"]
            assert (claude["uncached_input_tokens"], claude["cache_read_input_tokens"]) == (1000, 10)
            assert claude["cache_creation"]["ephemeral_5m_input_tokens"] == 4
            (cost,) = (await c.get(ANTHROPIC_COST, params=window, headers=key)).json()["data"][0]["results"]
            assert cost["amount"] == "0.0885"  # cents: ceil(1000 * 0.8 + 10 * 0.08 + 4 * 1 + 20 * 4) = 885 micros

            await c.post("/_fakellm/admin-usage", json={"served_prices": PRICES, "overreport_percent": 5})
            usage = (await c.get("/v1/organization/usage/completions", params=params, headers=auth)).json()
            assert usage["data"][0]["results"][0]["input_tokens"] == 3150
            costs = (await c.get("/v1/organization/costs", params=params, headers=auth)).json()
            assert costs["data"][0]["results"][0]["amount"]["value"] == 8505 / 1_000_000
        finally:
            await c.post("/_fakellm/admin-usage", json={})
            await c.post("/_fakellm/reset")
