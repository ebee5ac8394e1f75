"""Circuit breaker and Retry-After cooldown state in Redis, shared by every router replica."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import cast

import msgspec
from prometheus_client import Counter
from redis.exceptions import RedisError, WatchError

from tollway.inference_router.domain.breaker import BreakerState, CircuitBreaker
from tollway.inference_router.domain.routing import BreakerSignal
from tollway.platform.redis import RedisClient, RedisKeys

log = logging.getLogger(__name__)
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(BreakerState).decode
STATE_TTL_S = 24 * 3600
CLOSED = BreakerState()
SLOT_TAG = "breakers"  # every breaker and cooldown key shares one Redis Cluster slot, so one MGET reads them all
# Counted by the replica whose write changed the phase, so the sum over replicas is every transition exactly once.
TRANSITIONS = Counter(
    "tollway_router_breaker_transitions_total", "Circuit breaker phase changes written", ["deployment", "phase"]
)
SKIPPED = Counter("tollway_router_breaker_redis_errors_total", "Breaker reads and writes skipped: Redis failed", ["op"])
WARN_EVERY_S = 5.0


def _cooldown_left(value: bytes, now: float) -> float:
    """Seconds until a cooldown ends; one whose value holds no end time (an older router's ``1``) counts as 1 s."""
    try:
        until = float(value)
    except ValueError:
        until = 0.0
    return until - now if until > now else 1.0


CLEAN_FOR_S = 1.0  # how old a clean read may be for a success to skip its write


class RedisBreakerBook:
    """``breaker:{breakers}:<deployment>`` holds the state machine, ``cooldown:{breakers}:<…>`` a Retry-After.

    Reads are cached in-process for ``cache_s`` (default 0.1 s), so the hot path usually costs no round trip; a
    replica sees another replica's change within that time and its own at once (it drops the key on write). A
    write happens only when a state changes, so a healthy deployment's successes never touch Redis. Writes are
    compare-and-set (WATCH) because replicas update the same breaker concurrently.
    """

    def __init__(self, redis: RedisClient, keys: RedisKeys, breaker: CircuitBreaker, cache_s: float = 0.1) -> None:
        self._redis = redis
        self._keys = keys
        self._breaker = breaker
        self._cache_s = cache_s
        self._cached: dict[tuple[str, ...], tuple[float, list[bytes | None]]] = {}
        self._warned_at = 0.0

    def _name(self, kind: str, key: str) -> str:
        return self._keys.tagged(kind, SLOT_TAG, key)

    async def unavailable(self, keys: Sequence[str]) -> set[str]:
        """Deployments an open breaker or a Retry-After cooldown keeps out; none when Redis cannot say.

        Breaker state is advice: a Redis restart must not fail requests a provider would answer, so without
        Redis every deployment is tried (and a failing one still fails over to the next in the chain).
        """
        try:
            return await self._unavailable(keys)
        except RedisError as exc:
            self._skipped("read", exc)
            return set()

    async def _unavailable(self, keys: Sequence[str]) -> set[str]:
        values = await self._read(tuple(keys))
        now = time.time()
        blocked = {k for k, cooling in zip(keys, values[len(keys) :], strict=True) if cooling is not None}
        for key, raw in zip(keys, values[: len(keys)], strict=True):
            if raw is not None and key not in blocked and not await self._admits(key, _decode(raw), now):
                blocked.add(key)
        return blocked

    async def cooling(self, keys: Sequence[str]) -> dict[str, float]:
        """From the same cached read as ``unavailable`` (asked right after it, so usually no round trip)."""
        try:
            values = await self._read(tuple(keys))
        except RedisError as exc:
            self._skipped("read", exc)
            return {}
        now = time.time()
        left: dict[str, float] = {}
        for key, raw, cooling in zip(keys, values[: len(keys)], values[len(keys) :], strict=True):
            if cooling is None or (raw is not None and self._breaker.current(_decode(raw), now).phase == "open"):
                continue
            left[key] = _cooldown_left(cooling, now)
        return left

    async def _read(self, keys: tuple[str, ...]) -> list[bytes | None]:
        hit = self._cached.get(keys)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        names = [self._name("breaker", k) for k in keys] + [self._name("cooldown", k) for k in keys]
        values = cast(list[bytes | None], await self._redis.mget(names))
        self._cached[keys] = (time.monotonic() + self._cache_s, values)
        return values

    def _seen_clean(self, key: str) -> bool:
        """Whether a read of ``key`` within ``CLEAN_FOR_S`` showed a closed breaker with nothing counted.

        Longer than the read cache: under load an answer outlasts 0.1 s, and a success then cost a WATCH round
        trip that changed nothing. A success is only skipped, never a failure; at worst a success another replica's
        failures would have met in that second goes uncounted, which opens a breaker no later than it should.
        """
        oldest = time.monotonic() - CLEAN_FOR_S + self._cache_s  # ``expires`` is the read's time plus the cache
        for keys, (expires, values) in self._cached.items():
            if key in keys and expires > oldest:
                raw = values[keys.index(key)]
                return raw is None or _decode(raw) == CLOSED
        return False

    def _forget(self, key: str) -> None:
        for keys in [keys for keys in self._cached if key in keys]:
            del self._cached[keys]

    async def _admits(self, key: str, state: BreakerState, now: float) -> bool:
        current = self._breaker.current(state, now)
        if current.phase != "half_open":
            return current.phase == "closed"
        admitted = False

        def take_probe(s: BreakerState) -> BreakerState:
            nonlocal admitted
            admitted, after = self._breaker.acquire(s, now)
            return after

        await self._update(key, take_probe)
        return admitted

    async def record(self, key: str, signal: BreakerSignal, retry_after: float | None = None) -> None:
        """Count an outcome; skipped (and counted in a metric) when Redis fails, never failing the request."""
        try:
            await self._record(key, signal, retry_after)
        except RedisError as exc:
            self._skipped("write", exc)

    def _skipped(self, op: str, exc: RedisError) -> None:
        SKIPPED.labels(op).inc()
        if time.monotonic() - self._warned_at > WARN_EVERY_S:  # one line per burst, not one per request
            self._warned_at = time.monotonic()
            log.warning("breaker state %s skipped: Redis failed (%s)", op, type(exc).__name__)

    async def _record(self, key: str, signal: BreakerSignal, retry_after: float | None) -> None:
        if signal == "success" and self._seen_clean(key):
            return  # the common case: a healthy deployment answered; nothing to change, no round trip
        now = time.time()
        if retry_after:
            self._forget(key)
            until = str(now + retry_after).encode()  # read back by ``cooling`` for the client's Retry-After
            await self._redis.set(self._name("cooldown", key), until, px=max(1, int(retry_after * 1000)))
        await self._update(key, lambda s: self._breaker.record(s, signal, now, retry_after))

    async def _update(self, key: str, change: Callable[[BreakerState], BreakerState]) -> None:
        name = self._name("breaker", key)
        self._forget(key)
        async with self._redis.pipeline(transaction=True) as pipe:
            for _ in range(10):
                try:
                    await pipe.watch(name)
                    raw = await pipe.get(name)
                    before = _decode(raw) if raw is not None else CLOSED
                    after = change(before)
                    if after == before:
                        return
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.set(name, _encode(after), ex=STATE_TTL_S)
                    await pipe.execute()
                    if after.phase != before.phase:
                        TRANSITIONS.labels(key, after.phase).inc()
                    return
                except WatchError:
                    continue

    async def states(self) -> dict[str, BreakerState]:
        prefix = self._name("breaker", "")
        names = [name async for name in self._redis.scan_iter(match=prefix + "*", count=500)]
        values = await self._redis.mget(names) if names else []
        now = time.time()
        return {
            name.decode().removeprefix(prefix): self._breaker.current(_decode(raw), now)
            for name, raw in zip(names, values, strict=True)
            if raw is not None
        }

    async def state(self, key: str) -> BreakerState:
        raw = await self._redis.get(self._name("breaker", key))
        return self._breaker.current(_decode(raw), time.time()) if raw is not None else CLOSED

    async def reset(self, key: str | None = None) -> int:
        self._cached.clear()
        if key is not None:
            return int(await self._redis.delete(self._name("breaker", key), self._name("cooldown", key)))
        names = []
        for pattern in (self._name("breaker", "*"), self._name("cooldown", "*")):
            names += [name async for name in self._redis.scan_iter(match=pattern, count=500)]
        return int(await self._redis.delete(*names)) if names else 0
