"""Redis clients (one server or a Redis Cluster), Lua scripts on them, and the ``<service>:<entity>:<id>`` key names."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from typing import Any, TypeAlias
from urllib.parse import unquote, urlsplit

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.exceptions import NoScriptError

RedisClient: TypeAlias = Redis | RedisCluster
CLUSTER_SCHEMES = {"redis+cluster": False, "rediss+cluster": True}  # scheme -> TLS


def open_redis(url: str, *, max_connections: int = 256, wait_s: float = 5.0) -> RedisClient:
    """A pooled asyncio client; connections open lazily on first command.

    ``redis+cluster://host:port[,host:port...]`` (``rediss+cluster://`` with TLS) opens a Redis Cluster client
    seeded with those nodes; it discovers the rest and follows slot moves and failovers itself. Any other URL
    opens a single-server client.

    The single-server pool blocks: a caller finding every connection busy waits up to ``wait_s`` for one. redis-py's
    default pool raises "Too many connections" at once instead, which turned a burst of 64 concurrent requests into
    503s. The cluster client has no blocking pool, so it gets the same number of connections per node.
    """
    if urlsplit(url).scheme in CLUSTER_SCHEMES:
        return open_redis_cluster(url, max_connections=max_connections)
    pool = BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=wait_s, decode_responses=False, health_check_interval=30
    )
    return Redis.from_pool(pool)  # the client owns the pool: closing it closes the connections


def open_redis_cluster(url: str, *, max_connections: int = 256) -> RedisCluster:
    """A Redis Cluster client from a ``redis+cluster://[user:password@]host:port[,host:port...]`` URL."""
    parts = urlsplit(url)
    credentials, _, hosts = parts.netloc.rpartition("@")
    username, _, password = credentials.partition(":")
    nodes = [_node(address) for address in hosts.split(",") if address]
    if not nodes:
        raise ValueError(f"a Redis Cluster URL needs at least one host:port, got {parts.scheme}://…")
    return RedisCluster(
        startup_nodes=nodes,
        username=unquote(username) or None,
        password=unquote(password) or None,
        ssl=CLUSTER_SCHEMES[parts.scheme],
        max_connections=max_connections,
        decode_responses=False,
        health_check_interval=30,
        # A MOVED reply only repoints its slot. By default every fifth MOVED closes the whole client, which drops
        # the connections other requests are reading from; under load that cascaded into errors on every node.
        reinitialize_steps=0,
    )


class LuaScript:
    """A Lua script run with ``EVALSHA``; on ``NOSCRIPT`` (after a restart, a failover, ``SCRIPT FLUSH``) with ``EVAL``.

    ``EVAL`` runs the script on its keys' node and caches it there: one more round trip for that call only. redis-py's
    own ``Script`` answers ``NOSCRIPT`` with ``SCRIPT LOAD`` broadcast to every node of a cluster; a burst of first
    calls then opened connections to all nodes at once, and on a loaded machine redis-py's cluster client broke in
    that broadcast (an ``AttributeError`` on a half-open connection), which reached clients as 500s.
    """

    def __init__(self, redis: RedisClient, source: str) -> None:
        self._redis = redis
        self._source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()  # noqa: S324 - Redis names scripts by their SHA-1

    async def __call__(self, keys: Sequence[str], args: Sequence[str | int | float]) -> Any:
        try:
            return await self._redis.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:
            return await self.eval(keys, args)

    async def eval(self, keys: Sequence[str], args: Sequence[str | int | float]) -> Any:
        return await self._redis.eval(self._source, len(keys), *keys, *args)

    async def pipelined(self, calls: Sequence[tuple[Sequence[str], Sequence[str | int | float]]]) -> list[Any]:
        """Many calls in one round trip (``EVALSHA``; ``EVAL`` after a ``NOSCRIPT``); an error is its call's result.

        redis-py's cluster pipeline refuses scripts, so on a cluster the calls go out concurrently, one each.
        """
        if isinstance(self._redis, RedisCluster):
            return list(await asyncio.gather(*(self(keys, args) for keys, args in calls), return_exceptions=True))
        async with self._redis.pipeline(transaction=False) as pipe:
            for keys, args in calls:
                pipe.evalsha(self.sha, len(keys), *keys, *args)
            results: list[Any] = await pipe.execute(raise_on_error=False)
        for i, result in enumerate(results):
            if isinstance(result, NoScriptError):
                keys, args = calls[i]
                try:
                    results[i] = await self.eval(keys, args)
                except Exception as exc:  # handed to that call's caller, as the pipeline hands its own
                    results[i] = exc
        return results


_Call = tuple[Sequence[str], Sequence[str | int | float], "asyncio.Future[Any]"]


class CoalescedScript:
    """A ``LuaScript`` whose concurrent calls share round trips: calls made while one is in flight go out together.

    Nothing waits on a timer: a call finding no flush running starts one at once, alone; whatever arrives while
    that round trip is out goes in the next, as one pipeline. Under load a few hundred calls a second become a few
    dozen round trips, each paying redis-py's per-call cost (pool, retry, parse) once; idle, there is no task.
    """

    def __init__(self, script: LuaScript, *, max_batch: int = 256) -> None:
        self._script = script
        self._max_batch = max_batch
        self._queue: list[_Call] = []
        self._flusher: asyncio.Task[None] | None = None

    @property
    def sha(self) -> str:
        return self._script.sha

    async def __call__(self, keys: Sequence[str], args: Sequence[str | int | float]) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append((keys, args, future))
        if self._flusher is None:
            self._flusher = asyncio.get_running_loop().create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch :]
                await self._send(batch)
        finally:
            self._flusher = None

    async def _send(self, batch: list[_Call]) -> None:
        try:
            if len(batch) == 1:
                keys, args, _ = batch[0]
                results: list[Any] = [await self._script(keys, args)]
            else:
                results = await self._script.pipelined([(keys, args) for keys, args, _ in batch])
        except Exception as exc:  # the round trip failed: every call in it fails the same way
            results = [exc] * len(batch)
        for (_, _, future), result in zip(batch, results, strict=True):
            if future.done():  # its caller gave up (a timeout); the call itself still ran
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)


def _node(address: str) -> ClusterNode:
    host, _, port = address.rpartition(":")
    if not host:
        return ClusterNode(address, 6379)
    return ClusterNode(host.strip("[]"), int(port))


class RedisKeys:
    """Builds keys owned by one service; ``prefix`` isolates tests the way a namespace isolates subjects.

    Redis Cluster runs a Lua script or a multi-key command only when every key maps to one slot. ``tagged`` keys
    carry a ``{tag}`` hash tag, so keys built with the same tag always share a slot whatever else they contain.
    """

    def __init__(self, service: str, prefix: str = "") -> None:
        if "{" in prefix or "}" in prefix:
            raise ValueError("a key prefix must not contain braces: they would become the keys' hash tag")
        self._root = f"{prefix}:{service}" if prefix else service

    def key(self, entity: str, *parts: str | int) -> str:
        return ":".join((self._root, entity, *(str(p) for p in parts)))

    def tagged(self, entity: str, tag: str, *parts: str | int) -> str:
        """``<root>:<entity>:{<tag>}:<parts>``: every key with the same ``tag`` lands in one cluster slot."""
        return self.key(entity, "{" + tag + "}", *parts)

    @property
    def pattern(self) -> str:
        """A SCAN pattern matching every key of this service (and prefix)."""
        return f"{self._root}:*"
