"""Latency EWMA and in-flight calls per deployment in Redis, shared by every router replica.

``load:{load}:<deployment>`` is a hash whose ``ewma_ms`` a Lua script updates atomically; ``busy:{load}:<deployment>``
is a sorted set of the calls in flight scored by their start time, so a call whose replica died without removing
it stops counting after ``stale_s`` on its own (no counter can leak). One tag: one slot, one pipeline per read.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from redis.exceptions import RedisError

from tollway.inference_router.domain.strategies import EWMA_ALPHA, DeploymentLoad
from tollway.platform.redis import LuaScript, RedisClient, RedisKeys

log = logging.getLogger(__name__)
SLOT_TAG = "load"
KEY_TTL_S = 24 * 3600
_EWMA = """
local old = tonumber(redis.call('HGET', KEYS[1], 'ewma_ms'))
local sample, alpha = tonumber(ARGV[1]), tonumber(ARGV[2])
local new = sample
if old then new = alpha * sample + (1 - alpha) * old end
redis.call('HSET', KEYS[1], 'ewma_ms', tostring(new))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return tostring(new)
"""


class RedisDeploymentLoad:
    """The ``DeploymentLoadBook`` port. Redis trouble never fails a request: the strategy then sees no data."""

    def __init__(self, redis: RedisClient, keys: RedisKeys, *, stale_s: float) -> None:
        self._redis = redis
        self._keys = keys
        self._stale_s = stale_s
        self._ewma = LuaScript(redis, _EWMA)

    def _name(self, kind: str, key: str) -> str:
        return self._keys.tagged(kind, SLOT_TAG, key)

    async def snapshot(self, keys: Sequence[str]) -> dict[str, DeploymentLoad]:
        since = time.time() - self._stale_s
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.hget(self._name("load", key), "ewma_ms")
                    pipe.zcount(self._name("busy", key), since, "+inf")
                values = await pipe.execute()
        except (RedisError, OSError) as error:
            log.warning("deployment load unavailable (%s); routing in catalogue order", type(error).__name__)
            return {}
        return {
            key: DeploymentLoad(latency_ms=float(latency) if latency is not None else None, in_flight=int(busy))
            for key, latency, busy in zip(keys, values[::2], values[1::2], strict=True)
        }

    async def started(self, key: str, call_id: str) -> None:
        name = self._name("busy", key)
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.zadd(name, {call_id: time.time()})
                pipe.zremrangebyscore(name, "-inf", time.time() - self._stale_s)
                pipe.expire(name, KEY_TTL_S)
                await pipe.execute()
        except (RedisError, OSError):
            return

    async def finished(self, key: str, call_id: str, latency_ms: float | None) -> None:
        try:
            await self._redis.zrem(self._name("busy", key), call_id)
            if latency_ms is not None:
                await self._ewma(keys=[self._name("load", key)], args=[latency_ms, EWMA_ALPHA, KEY_TTL_S])
        except (RedisError, OSError):
            return
