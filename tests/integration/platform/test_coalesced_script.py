"""Concurrent Lua calls share round trips: one pipeline per flush, each caller gets its own answer or error."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from tollway.platform.redis import CoalescedScript, LuaScript, RedisClient, open_redis
from tollway.testing.infra import LocalInfra

# INCR a counter; ARGV[1] == 'boom' raises inside the script (an error reply for that call alone)
SOURCE = """
if ARGV[1] == 'boom' then return redis.error_reply('ERR boom') end
return redis.call('INCR', KEYS[1])
"""


class CountingScript(LuaScript):
    """The real script, counting how it was sent: alone or as one pipeline."""

    def __init__(self, redis: RedisClient, source: str) -> None:
        super().__init__(redis, source)
        self.alone = 0
        self.pipelines: list[int] = []

    async def __call__(self, keys: Sequence[str], args: Sequence[str | int | float]) -> Any:
        self.alone += 1
        return await super().__call__(keys, args)

    async def pipelined(self, calls: Sequence[tuple[Sequence[str], Sequence[str | int | float]]]) -> list[Any]:
        self.pipelines.append(len(calls))
        return await super().pipelined(calls)


@pytest.fixture
async def redis(test_infra: LocalInfra) -> AsyncIterator[RedisClient]:
    client = open_redis(test_infra.redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def key() -> str:
    return f"test:coalesced:{uuid.uuid4().hex}"


async def test_concurrent_calls_go_out_in_a_few_pipelines_each_with_its_answer(redis: RedisClient, key: str) -> None:
    script = CountingScript(redis, SOURCE)
    coalesced = CoalescedScript(script)

    answers = await asyncio.gather(*(coalesced([key], ["x"]) for _ in range(300)))

    assert sorted(answers) == list(range(1, 301))
    assert script.alone + sum(script.pipelines) == 300
    assert script.alone + len(script.pipelines) <= 10, (script.alone, script.pipelines)
    await redis.delete(key)


async def test_a_lone_call_goes_out_at_once_without_a_pipeline(redis: RedisClient, key: str) -> None:
    script = CountingScript(redis, SOURCE)
    coalesced = CoalescedScript(script)

    assert await coalesced([key], ["x"]) == 1
    assert await coalesced([key], ["x"]) == 2
    assert (script.alone, script.pipelines) == (2, [])
    await redis.delete(key)


async def test_a_failing_call_fails_its_caller_alone(redis: RedisClient, key: str) -> None:
    coalesced = CoalescedScript(LuaScript(redis, SOURCE))

    results = await asyncio.gather(
        *(coalesced([key], ["boom" if i == 7 else "x"]) for i in range(20)), return_exceptions=True
    )

    failed = [r for r in results if isinstance(r, Exception)]
    assert len(failed) == 1
    assert "boom" in str(failed[0])
    assert sorted(r for r in results if isinstance(r, int)) == list(range(1, 20))
    await redis.delete(key)


async def test_pipelined_calls_survive_a_script_flush(redis: RedisClient, key: str) -> None:
    coalesced = CoalescedScript(LuaScript(redis, SOURCE))
    await coalesced([key], ["x"])
    await redis.script_flush()  # a restart or failover behind the app: every EVALSHA answers NOSCRIPT

    answers = await asyncio.gather(*(coalesced([key], ["x"]) for _ in range(50)))

    assert sorted(answers) == list(range(2, 52))
    await redis.delete(key)


async def test_a_caller_that_gives_up_leaves_the_others_their_answers(redis: RedisClient, key: str) -> None:
    coalesced = CoalescedScript(LuaScript(redis, SOURCE))
    calls = [asyncio.ensure_future(coalesced([key], ["x"])) for _ in range(30)]
    await asyncio.sleep(0)
    calls[3].cancel()

    results = await asyncio.gather(*calls, return_exceptions=True)

    assert isinstance(results[3], asyncio.CancelledError)
    assert len([r for r in results if isinstance(r, int)]) == 29
    assert int(await redis.get(key) or 0) == 30  # the cancelled call was sent all the same
    await redis.delete(key)
