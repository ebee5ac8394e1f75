"""A healthy deployment's success costs no Redis round trip, even when the answer took longer than the read cache."""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio import Redis

from tollway.inference_router.adapters.breakers_redis import RedisBreakerBook
from tollway.inference_router.domain.breaker import CircuitBreaker
from tollway.platform.redis import RedisKeys


class CountingRedis:
    """The real client, counting the commands and pipelines the breaker book sends through it."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        self.calls.append(name)
        return getattr(self._redis, name)


async def test_a_success_after_a_slow_answer_does_not_write(redis_client: Redis, redis_prefix: str) -> None:
    # Under load an answer takes longer than the 0.1 s read cache; each success then cost a WATCH/GET/UNWATCH
    # (issue 14's profile: 7% of the router's Python time) although it changes nothing on a closed breaker.
    counting = CountingRedis(redis_client)
    book = RedisBreakerBook(counting, RedisKeys("inference_router", redis_prefix), CircuitBreaker())  # type: ignore[arg-type]
    assert await book.unavailable(["p/u"]) == set()
    await asyncio.sleep(0.3)  # the answer took longer than the read cache
    counting.calls.clear()
    await book.record("p/u", "success")
    assert counting.calls == []


async def test_a_failure_is_still_written_at_once(redis_client: Redis, redis_prefix: str) -> None:
    book = RedisBreakerBook(redis_client, RedisKeys("inference_router", redis_prefix), CircuitBreaker())
    assert await book.unavailable(["p/u"]) == set()
    await book.record("p/u", "failure")
    assert (await book.state("p/u")).failures == 1
