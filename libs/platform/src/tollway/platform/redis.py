"""Redis client lifespan and the ``<service>:<entity>:<id>`` key convention (services never share keys)."""

from __future__ import annotations

from redis.asyncio import Redis


def open_redis(url: str) -> Redis:
    """A pooled asyncio client; connections open lazily on first command."""
    return Redis.from_url(url, decode_responses=False, health_check_interval=30)


class RedisKeys:
    """Builds keys owned by one service; ``prefix`` isolates tests the way a namespace isolates subjects."""

    def __init__(self, service: str, prefix: str = "") -> None:
        self._root = f"{prefix}:{service}" if prefix else service

    def key(self, entity: str, *parts: str | int) -> str:
        return ":".join((self._root, entity, *(str(p) for p in parts)))

    @property
    def pattern(self) -> str:
        """A SCAN pattern matching every key of this service (and prefix)."""
        return f"{self._root}:*"
