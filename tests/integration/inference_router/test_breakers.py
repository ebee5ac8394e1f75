"""Circuit breakers: open at the threshold, short-circuit fast, half-open, close on a good probe, shared state."""

from __future__ import annotations

import time

import httpx
import msgspec
from redis.asyncio import Redis

from tests.integration.inference_router.usage_events import UsageEvents
from tollway.platform.redis import RedisKeys
from tollway.testing.stack import RouterUnderTest, start_router

BODY = {"messages": [{"role": "user", "content": "hi"}]}
FAILING = "primary/fake-g+status=500"


async def test_breaker_opens_short_circuits_and_is_shared_and_resettable(
    router: RouterUnderTest, usage_events: UsageEvents
) -> None:
    async with httpx.AsyncClient(base_url=router.url, timeout=10) as client:
        for i in range(3):
            assert (
                await client.post(
                    "/internal/v1/chat", headers=router.headers(f"brk-{i}"), json={"model": "breaker", **BODY}
                )
            ).status_code == 502
        calls_when_open = router.upstream_calls("fake-g+status=500")
        shorts = [
            await client.post(
                "/internal/v1/chat", headers=router.headers(f"brk-open-{i}"), json={"model": "breaker", **BODY}
            )
            for i in range(5)
        ]
        state = await client.get(f"/internal/v1/circuit-breakers/{FAILING}", headers=router.headers(role="admin"))

    assert {short.status_code for short in shorts} == {503}
    assert router.upstream_calls("fake-g+status=500") == calls_when_open == 3
    assert [[e.attempts for e in await usage_events.of(f"brk-open-{i}")] for i in range(5)] == [[()]] * 5
    assert state.json()["phase"] == "open"

    second, url = start_router(router.env, router.catalog, BREAKER_OPEN_S="30", BREAKER_FAILURE_THRESHOLD="3")
    try:
        async with httpx.AsyncClient(base_url=url, timeout=10) as other:
            seen = await other.get("/internal/v1/circuit-breakers", headers=router.headers(role="admin"))
            denied = await other.get("/internal/v1/circuit-breakers", headers=router.headers())
            unsigned = await other.delete("/internal/v1/circuit-breakers")
            reset = await other.delete(f"/internal/v1/circuit-breakers/{FAILING}", headers=router.headers(role="admin"))
            after = await other.get(f"/internal/v1/circuit-breakers/{FAILING}", headers=router.headers(role="admin"))
    finally:
        second.stop()
    assert {b["deployment"]: b["phase"] for b in seen.json()["data"]}[FAILING] == "open"
    assert (denied.status_code, unsigned.status_code) == (403, 401)
    assert reset.json() == {"reset": 1}
    assert after.json()["phase"] == "closed"


async def test_half_open_after_the_interval_then_a_good_probe_closes_it(
    router: RouterUnderTest, redis_client: Redis
) -> None:
    key = RedisKeys("inference_router", router.namespace).tagged("breaker", "breakers", "primary/fake-ok")
    expired = {"phase": "open", "open_until": time.time() - 0.1, "reopens": 0}
    await redis_client.set(key, msgspec.json.encode(expired))
    admin = router.headers(role="admin")
    async with httpx.AsyncClient(base_url=router.url, timeout=10) as client:
        before = (await client.get("/internal/v1/circuit-breakers/primary/fake-ok", headers=admin)).json()
        probe = await client.post("/internal/v1/chat", headers=router.headers(), json={"model": "ok", **BODY})
        after = (await client.get("/internal/v1/circuit-breakers/primary/fake-ok", headers=admin)).json()

    assert before["phase"] == "half_open"
    assert probe.status_code == 200
    assert after["phase"] == "closed"
