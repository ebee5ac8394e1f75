"""The per-process warm-key cache: digest -> identity, evicted by revocation events, bounded by TTL and size."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from tollway.gateway.domain.identity import Identity
from tollway.gateway.ports import IdentityLoader

Clock = Callable[[], float]
_TOMBSTONE_PRUNE_AT = 1024


class KeyCache:
    """Answers warm keys from memory; cold keys load once (concurrent callers share one query).

    Positive entries live ``ttl_s`` (the safety net if an eviction is ever missed); unknown digests are cached for
    ``negative_ttl_s`` in a separate, smaller map so a flood of made-up keys can neither hammer Postgres nor push
    real identities out. A revoked key id is tombstoned for ``tombstone_s`` so a load that raced the revocation
    cannot re-insert it.
    """

    def __init__(
        self,
        *,
        ttl_s: float = 60.0,
        negative_ttl_s: float = 5.0,
        max_entries: int = 100_000,
        max_negative_entries: int = 10_000,
        tombstone_s: float = 30.0,
        clock: Clock = time.monotonic,
    ) -> None:
        self._ttl_s = ttl_s
        self._negative_ttl_s = negative_ttl_s
        self._max_entries = max_entries
        self._max_negative = max_negative_entries
        self._tombstone_s = tombstone_s
        self._clock = clock
        self._known: dict[str, tuple[float, Identity]] = {}
        self._unknown: dict[str, float] = {}
        self._digest_of: dict[str, str] = {}
        self._tombstones: dict[str, float] = {}
        self._loading: dict[str, asyncio.Task[Identity | None]] = {}
        self._generation = 0

    def __len__(self) -> int:
        return len(self._known) + len(self._unknown)

    async def resolve(self, digest: str, load: IdentityLoader) -> Identity | None:
        now = self._clock()
        known = self._known.get(digest)
        if known is not None and known[0] > now:
            return known[1]
        unknown_until = self._unknown.get(digest)
        if unknown_until is not None and unknown_until > now:
            return None
        task = self._loading.get(digest)
        if task is None:
            task = asyncio.ensure_future(self._load(digest, load, self._generation))
            self._loading[digest] = task
            task.add_done_callback(lambda done: self._forget_load(digest, done))
        # Shielded: one caller's cancellation (a client hanging up) must not fail the others' shared load.
        return await asyncio.shield(task)

    def evict_key(self, api_key_id: str) -> None:
        """Drop a revoked key and refuse to cache it again for a while."""
        now = self._clock()
        if len(self._tombstones) > _TOMBSTONE_PRUNE_AT:
            self._tombstones = {key: until for key, until in self._tombstones.items() if until > now}
        self._tombstones[api_key_id] = now + self._tombstone_s
        digest = self._digest_of.pop(api_key_id, None)
        if digest is not None:
            self._known.pop(digest, None)

    def clear(self) -> None:
        """Forget everything (events may have been missed); loads already in flight will not be kept."""
        self._generation += 1
        self._known.clear()
        self._unknown.clear()
        self._digest_of.clear()
        self._loading.clear()  # later callers start a fresh load instead of joining one from before

    async def _load(self, digest: str, load: IdentityLoader, generation: int) -> Identity | None:
        identity = await load(digest)
        if generation == self._generation:
            self._store(digest, identity)
        return identity

    def _forget_load(self, digest: str, done: asyncio.Task[Identity | None]) -> None:
        if self._loading.get(digest) is done:
            del self._loading[digest]

    def _store(self, digest: str, identity: Identity | None) -> None:
        now = self._clock()
        if identity is None:
            _make_room(self._unknown, self._max_negative)
            self._unknown[digest] = now + self._negative_ttl_s
            return
        tombstone = self._tombstones.get(identity.api_key_id)
        if tombstone is not None:
            if tombstone > now:
                return
            del self._tombstones[identity.api_key_id]
        if digest not in self._known:
            self._evict_oldest_if_full()
        self._known[digest] = (now + self._ttl_s, identity)
        self._digest_of[identity.api_key_id] = digest

    def _evict_oldest_if_full(self) -> None:
        while len(self._known) >= self._max_entries:
            oldest = next(iter(self._known))
            _, identity = self._known.pop(oldest)
            self._digest_of.pop(identity.api_key_id, None)


def _make_room(entries: dict[str, float], limit: int) -> None:
    # Insertion order approximates age: the oldest negative entries are the least useful.
    while len(entries) >= limit:
        del entries[next(iter(entries))]
