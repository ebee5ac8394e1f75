"""Attempt counters in Redis (login, registration, reset): one fixed window per bucket and subject, every replica."""

from __future__ import annotations

from tollway.platform.redis import RedisClient, RedisKeys


class RedisThrottle:
    def __init__(self, redis: RedisClient, keys: RedisKeys) -> None:
        self._redis = redis
        self._keys = keys

    async def blocked_for(self, bucket: str, subject: str, limit: int) -> int:
        key = self._keys.key("throttle", bucket, subject)
        pipe = self._redis.pipeline(transaction=False)
        pipe.get(key)
        pipe.pttl(key)
        count, ttl = await pipe.execute()
        if count is None or int(count) < limit:
            return 0
        return max(1, (int(ttl) + 999) // 1000)

    async def hit(self, bucket: str, subject: str, window_s: int) -> None:
        key = self._keys.key("throttle", bucket, subject)
        # The window starts at the first attempt (SET NX EX): later attempts do not push the reset further away.
        pipe = self._redis.pipeline(transaction=False)
        pipe.set(key, 0, ex=window_s, nx=True)
        pipe.incr(key)
        await pipe.execute()

    async def clear(self, bucket: str, subject: str) -> None:
        await self._redis.delete(self._keys.key("throttle", bucket, subject))
