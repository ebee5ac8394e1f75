"""Redis client lifespan and the ``<service>:<entity>:<id>`` key convention (services never share keys)."""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis


def open_redis(url: str, *, max_connections: int = 256, wait_s: float = 5.0) -> Redis:
    """A pooled asyncio client; connections open lazily on first command.

    The pool blocks: a caller finding every connection busy waits up to ``wait_s`` for one. redis-py's default
    pool raises "Too many connections" at once instead, which turned a burst of 64 concurrent requests into 503s.
    """
    pool = BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=wait_s, decode_responses=False, health_check_interval=30
    )
    return Redis.from_pool(pool)  # the client owns the pool: closing it closes the connections


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
