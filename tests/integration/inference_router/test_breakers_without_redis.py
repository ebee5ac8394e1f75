"""Breaker state is advice: with Redis gone (restarting, partitioned) the router routes as if every breaker were
closed, and recording an outcome is skipped, instead of failing the request (the chaos drill found 500s here)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tollway.inference_router.adapters.breakers_redis import RedisBreakerBook
from tollway.inference_router.domain.breaker import CircuitBreaker
from tollway.platform.redis import RedisClient, RedisKeys, open_redis
from tollway.testing.processes import free_port


@pytest.fixture
async def dead_redis() -> AsyncIterator[RedisClient]:
    client = open_redis(f"redis://127.0.0.1:{free_port()}/0", wait_s=0.2)
    yield client
    await client.aclose()


async def test_an_unreachable_redis_leaves_every_deployment_available(dead_redis: RedisClient) -> None:
    book = RedisBreakerBook(dead_redis, RedisKeys("inference_router", "t"), CircuitBreaker())
    assert await book.unavailable(["p/a", "p/b"]) == set()


async def test_recording_against_an_unreachable_redis_is_skipped(dead_redis: RedisClient) -> None:
    book = RedisBreakerBook(dead_redis, RedisKeys("inference_router", "t"), CircuitBreaker())
    await book.record("p/a", "failure")
    await book.record("p/a", "rate_limited", retry_after=2.0)
    assert await book.unavailable(["p/a"]) == set()
