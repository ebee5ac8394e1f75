"""The revocation listener evicts on events and forgets everything when events may have been missed."""

from __future__ import annotations

import asyncio
from typing import Any

from tollway.contracts import ApiKeyRevokedV1, encode
from tollway.gateway.domain.identity import Identity
from tollway.gateway.keycache import KeyCache
from tollway.gateway.revocations import RevocationListener
from tollway.platform.messaging import Namespace


class FakeNats:
    def __init__(self) -> None:
        self.is_connected = True
        self.is_closed = False
        self.stats = {"reconnects": 0}
        self.subjects: list[str] = []

    async def subscribe(self, subject: str, cb: Any) -> Any:
        self.subjects.append(subject)
        return None

    async def flush(self) -> None:
        return None


class FakeMsg:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.subject = "t.gateway.api_key.revoked.v1"


async def warm(cache: KeyCache, key_id: str) -> None:
    async def load(digest: str) -> Identity:
        return Identity(user_id="usr_1", api_key_id=key_id, routing_strategy="primary_first", is_active=True)

    await cache.resolve(f"digest-{key_id}", load)


async def test_subscribes_to_the_namespaced_subject() -> None:
    nc = FakeNats()
    await RevocationListener(nc, Namespace("t1"), KeyCache()).start()  # type: ignore[arg-type]
    assert nc.subjects == ["t1.gateway.api_key.revoked.v1"]


async def test_an_event_evicts_only_its_key() -> None:
    cache = KeyCache()
    await warm(cache, "key_1")
    await warm(cache, "key_2")
    listener = RevocationListener(FakeNats(), Namespace(), cache)  # type: ignore[arg-type]

    await listener._on_message(FakeMsg(encode(ApiKeyRevokedV1(api_key_id="key_1", user_id="usr_1"))))  # type: ignore[arg-type]

    assert len(cache) == 1


async def test_an_undecodable_event_clears_the_cache() -> None:
    cache = KeyCache()
    await warm(cache, "key_1")
    listener = RevocationListener(FakeNats(), Namespace(), cache)  # type: ignore[arg-type]
    await listener._on_message(FakeMsg(b"{not json"))  # type: ignore[arg-type]
    assert len(cache) == 0


async def test_a_healthy_connection_keeps_the_cache() -> None:
    nc, cache = FakeNats(), KeyCache()
    listener = RevocationListener(nc, Namespace(), cache)  # type: ignore[arg-type]
    await warm(cache, "key_1")
    listener.check_connection()
    assert len(cache) == 1


async def test_a_reconnect_clears_the_cache_once() -> None:
    nc, cache = FakeNats(), KeyCache()
    listener = RevocationListener(nc, Namespace(), cache)  # type: ignore[arg-type]
    await warm(cache, "key_1")
    nc.stats.update(reconnects=1)
    listener.check_connection()
    cleared = len(cache)
    await warm(cache, "key_1")
    listener.check_connection()  # the same reconnect is not a new one
    assert (cleared, len(cache)) == (0, 1)


async def test_a_lost_connection_clears_the_cache_on_every_check() -> None:
    nc, cache = FakeNats(), KeyCache()
    listener = RevocationListener(nc, Namespace(), cache)  # type: ignore[arg-type]
    nc.is_connected = False
    for _ in range(2):
        await warm(cache, "key_1")
        listener.check_connection()
        assert len(cache) == 0


async def test_the_watchdog_checks_until_stopped() -> None:
    nc, cache = FakeNats(), KeyCache()
    listener = RevocationListener(nc, Namespace(), cache, tick_s=0.01)  # type: ignore[arg-type]
    await warm(cache, "key_1")
    nc.is_connected = False
    stop = asyncio.Event()
    watching = asyncio.create_task(listener.watch(stop))
    while len(cache):  # the first check runs as soon as the task does; pytest-timeout bounds a hang
        await asyncio.sleep(0)
    stop.set()
    await watching
    assert watching.done()
