"""The warm-key cache: TTLs, negative entries, eviction by key id, races with revocation, single flight."""

from __future__ import annotations

import asyncio

import pytest

from tollway.gateway.domain.identity import Identity
from tollway.gateway.keycache import KeyCache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Loader:
    def __init__(self, answer: Identity | None) -> None:
        self.answer = answer
        self.calls = 0
        self.gate: asyncio.Event | None = None

    async def __call__(self, digest: str) -> Identity | None:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        return self.answer


def identity(key_id: str = "key_1") -> Identity:
    return Identity(user_id="usr_1", api_key_id=key_id, routing_strategy="primary_first", is_active=True)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def cache(clock: Clock) -> KeyCache:
    return KeyCache(ttl_s=60, negative_ttl_s=5, max_entries=3, max_negative_entries=2, tombstone_s=30, clock=clock)


async def test_positive_entries_live_for_the_ttl(cache: KeyCache, clock: Clock) -> None:
    load = Loader(identity())
    for _ in range(3):
        assert await cache.resolve("d1", load) == identity()
    assert load.calls == 1
    clock.now += 61
    await cache.resolve("d1", load)
    assert load.calls == 2


async def test_unknown_digests_are_cached_briefly(cache: KeyCache, clock: Clock) -> None:
    load = Loader(None)
    assert await cache.resolve("d1", load) is None
    assert await cache.resolve("d1", load) is None
    assert load.calls == 1
    clock.now += 6
    await cache.resolve("d1", load)
    assert load.calls == 2


async def test_evict_key_forces_a_reload_and_blocks_stale_reinsertion(cache: KeyCache, clock: Clock) -> None:
    load = Loader(identity())
    await cache.resolve("d1", load)
    cache.evict_key("key_1")
    # A load that read the row before the revocation committed must not put it back.
    await cache.resolve("d1", load)
    await cache.resolve("d1", load)
    assert load.calls == 3
    clock.now += 31  # after the tombstone, the key may be cached again (if Postgres still returns it)
    await cache.resolve("d1", load)
    await cache.resolve("d1", load)
    assert load.calls == 4


async def test_clear_discards_loads_in_flight(cache: KeyCache) -> None:
    load = Loader(identity())
    load.gate = asyncio.Event()
    pending = asyncio.create_task(cache.resolve("d1", load))
    await asyncio.sleep(0)
    cache.clear()
    load.gate.set()
    assert await pending == identity()
    assert len(cache) == 0


async def test_concurrent_cold_lookups_share_one_load(cache: KeyCache) -> None:
    load = Loader(identity())
    load.gate = asyncio.Event()
    waiters = [asyncio.create_task(cache.resolve("d1", load)) for _ in range(50)]
    await asyncio.sleep(0)
    load.gate.set()
    assert await asyncio.gather(*waiters) == [identity()] * 50
    assert load.calls == 1


async def test_a_cancelled_caller_does_not_fail_the_others(cache: KeyCache) -> None:
    load = Loader(identity())
    load.gate = asyncio.Event()
    first = asyncio.create_task(cache.resolve("d1", load))
    second = asyncio.create_task(cache.resolve("d1", load))
    await asyncio.sleep(0)
    first.cancel()
    load.gate.set()
    assert await second == identity()
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_size_is_bounded_for_both_kinds(cache: KeyCache) -> None:
    for n in range(10):
        await cache.resolve(f"known{n}", Loader(identity(f"key_{n}")))
        await cache.resolve(f"unknown{n}", Loader(None))
    assert len(cache) == 3 + 2


async def test_a_failed_load_is_not_cached(cache: KeyCache) -> None:
    async def broken(digest: str) -> Identity | None:
        raise ConnectionError("postgres is down")

    with pytest.raises(ConnectionError):
        await cache.resolve("d1", broken)
    load = Loader(identity())
    assert await cache.resolve("d1", load) == identity()
