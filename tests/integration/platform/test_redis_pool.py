"""More concurrent Redis calls than pooled connections wait their turn instead of failing."""

from __future__ import annotations

import asyncio

from tollway.platform.redis import open_redis
from tollway.testing.infra import LocalInfra


async def test_a_busy_pool_makes_callers_wait_rather_than_fail(test_infra: LocalInfra) -> None:
    # A bench at 64 connections got 503s from the gateway: redis-py's default pool raises "Too many connections".
    client = open_redis(test_infra.redis_url, max_connections=2)
    try:
        answers = await asyncio.gather(*(client.ping() for _ in range(200)))
    finally:
        await client.aclose()
    assert answers == [True] * 200
