# ruff: noqa: E501 - the catalogue reads best one model per line
"""Routing strategies in a real router: weighted shares, cheapest, lowest latency; the load book on real Redis."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from redis.asyncio import Redis

from tollway.inference_router.adapters.deployment_load_redis import RedisDeploymentLoad
from tollway.inference_router.domain.strategies import DeploymentLoad
from tollway.platform.redis import RedisKeys
from tollway.testing.infra import LocalInfra
from tollway.testing.namespaces import purge_namespace
from tollway.testing.processes import ManagedProcess
from tollway.testing.stack import RouterUnderTest, router_env, start_fakellm, start_router, write_catalog

CATALOG = """
providers:
  - {id: a, kind: openai_compatible, base_url: http://127.0.0.1:8090/v1}
  - {id: b, kind: openai_compatible, base_url: http://127.0.0.1:8090/v1}
models:
  - {id: weighted, strategy: weighted, context_window: 8000, max_output_tokens: 100, prices: &p {input: 1000000, output: 2000000, cache_read: 0, cache_write: 0},
     deployments: [{provider: a, upstream_model: w-heavy, weight: 4}, {provider: b, upstream_model: w-light, weight: 1}]}
  - {id: cheapest, strategy: cheapest, context_window: 8000, max_output_tokens: 100, prices: *p,
     deployments: [{provider: a, upstream_model: c-dear}, {provider: b, upstream_model: c-cheap, prices: {input: 1, output: 1, cache_read: 0, cache_write: 0}}]}
  - {id: fastest, strategy: lowest_latency, context_window: 8000, max_output_tokens: 100, prices: *p,
     deployments: [{provider: a, upstream_model: "l-slow+latency=150"}, {provider: b, upstream_model: l-fast}]}
"""
BODY = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}


@pytest.fixture(scope="module")
def strategy_router(
    migrated_database_url: str, test_infra: LocalInfra, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RouterUnderTest]:
    processes: list[ManagedProcess] = []
    namespace = f"r{uuid.uuid4().hex[:10]}"
    try:
        fake, upstream = start_fakellm()
        processes.append(fake)
        catalog = write_catalog(CATALOG, upstream, tmp_path_factory.mktemp("strategies"))
        env = router_env(
            database_url=migrated_database_url,
            nats_url=test_infra.nats_url,
            redis_url=test_infra.redis_url,
            namespace=namespace,
        )
        process, url = start_router(env, catalog)
        processes.append(process)
        yield RouterUnderTest(url, upstream, namespace, env, catalog)
    finally:
        for process in processes:
            process.stop()
        asyncio.run(purge_namespace(test_infra.nats_url, test_infra.redis_url, namespace))


async def _send(router: RouterUnderTest, model: str, count: int, tag: str) -> None:
    async with httpx.AsyncClient(base_url=router.url, timeout=10) as client:
        for i in range(count):
            response = await client.post(
                "/internal/v1/chat", headers=router.headers(f"{tag}-{i}"), json={"model": model, **BODY}
            )
            assert response.status_code == 200, response.text


async def test_weighted_shares_follow_the_weights(strategy_router: RouterUnderTest) -> None:
    await _send(strategy_router, "weighted", 100, "w")
    heavy, light = strategy_router.upstream_calls("w-heavy"), strategy_router.upstream_calls("w-light")
    assert heavy + light == 100
    assert 65 <= heavy <= 95  # 80 expected; wide enough never to flake


async def test_cheapest_goes_to_the_cheap_deployment(strategy_router: RouterUnderTest) -> None:
    await _send(strategy_router, "cheapest", 5, "c")
    assert (strategy_router.upstream_calls("c-cheap"), strategy_router.upstream_calls("c-dear")) == (5, 0)


async def test_lowest_latency_learns_the_fast_deployment(strategy_router: RouterUnderTest) -> None:
    await _send(strategy_router, "fastest", 12, "l")
    # Both are measured once (unmeasured go first), then every call goes to the fast one.
    assert strategy_router.upstream_calls("l-slow+latency=150") == 1
    assert strategy_router.upstream_calls("l-fast") == 11


async def test_the_load_book_on_redis(redis_client: Redis, redis_prefix: str) -> None:
    book = RedisDeploymentLoad(redis_client, RedisKeys("inference_router", redis_prefix), stale_s=60)
    await book.started("p/a", "r1")
    await book.started("p/a", "r2")
    await book.started("p/b", "r3")
    await book.finished("p/a", "r1", 100.0)
    await book.finished("p/a", "r2", 200.0)

    snapshot = await book.snapshot(["p/a", "p/b", "p/none"])
    assert snapshot["p/a"] == DeploymentLoad(latency_ms=pytest.approx(120.0), in_flight=0)  # type: ignore[arg-type]
    assert snapshot["p/b"] == DeploymentLoad(latency_ms=None, in_flight=1)
    assert snapshot["p/none"] == DeploymentLoad()

    stale = RedisDeploymentLoad(redis_client, RedisKeys("inference_router", redis_prefix), stale_s=0.05)
    await asyncio.sleep(0.1)
    assert (await stale.snapshot(["p/b"]))["p/b"].in_flight == 0  # a call whose replica died stops counting


DEADLINE_CATALOG = """
providers:
  - {id: a, kind: openai_compatible, base_url: http://127.0.0.1:8090/v1}
  - {id: b, kind: openai_compatible, base_url: http://127.0.0.1:8090/v1}
models:
  - {id: slow-then-fast, context_window: 8000, max_output_tokens: 100, prices: &p {input: 1, output: 1, cache_read: 0, cache_write: 0},
     deployments: [{provider: a, upstream_model: "d-slow+latency=5000"}, {provider: b, upstream_model: d-fast}]}
  - {id: all-slow, context_window: 8000, max_output_tokens: 100, prices: *p,
     deployments: [{provider: a, upstream_model: "d-slow2+latency=5000"}, {provider: b, upstream_model: "d-slow3+latency=5000"}]}
"""


@pytest.fixture(scope="module")
def deadline_router(
    migrated_database_url: str, test_infra: LocalInfra, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RouterUnderTest]:
    processes: list[ManagedProcess] = []
    namespace = f"r{uuid.uuid4().hex[:10]}"
    try:
        fake, upstream = start_fakellm()
        processes.append(fake)
        catalog = write_catalog(DEADLINE_CATALOG, upstream, tmp_path_factory.mktemp("deadline"))
        env = router_env(
            database_url=migrated_database_url,
            nats_url=test_infra.nats_url,
            redis_url=test_infra.redis_url,
            namespace=namespace,
        )
        settings = {"REQUEST_DEADLINE_S": "1.2", "TOTAL_TIMEOUT_S": "30", "FIRST_TOKEN_TIMEOUT_S": "30"}
        process, url = start_router(env, catalog, **settings)
        processes.append(process)
        yield RouterUnderTest(url, upstream, namespace, env, catalog)
    finally:
        for process in processes:
            process.stop()
        asyncio.run(purge_namespace(test_infra.nats_url, test_infra.redis_url, namespace))


async def _timed(router: RouterUnderTest, model: str, request_id: str) -> tuple[int, float]:
    async with httpx.AsyncClient(base_url=router.url, timeout=10) as client:
        started = time.monotonic()
        response = await client.post(
            "/internal/v1/chat", headers=router.headers(request_id), json={"model": model, **BODY}
        )
        return response.status_code, time.monotonic() - started


async def test_the_request_deadline_is_split_so_the_fallback_still_answers(deadline_router: RouterUnderTest) -> None:
    status, took = await _timed(deadline_router, "slow-then-fast", "dl-1")
    assert status == 200
    assert 0.5 <= took < 1.2  # the primary got half of 1.2 s, not its 30 s timeout


async def test_a_spent_deadline_is_a_504(deadline_router: RouterUnderTest) -> None:
    status, took = await _timed(deadline_router, "all-slow", "dl-2")
    assert status == 504
    assert took < 1.6
