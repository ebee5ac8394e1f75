"""Each replica's copy of billing's balances bucket: a KV watch into a dict, re-synced after every reconnect."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import msgspec
from nats.aio.client import Client as NatsClient
from nats.js.kv import KV_DEL, KV_PURGE, KeyValue

from tollway.contracts.streams import BALANCES_BUCKET, BalanceValue
from tollway.platform.messaging import Namespace

log = logging.getLogger(__name__)


_decoder = msgspec.json.Decoder(BalanceValue)


class BalanceBook:
    """user id -> (balance, version); a value never replaces a newer version, so replays and races are harmless."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[int, int]] = {}
        self.loaded = asyncio.Event()  # set once the first full load has arrived

    def is_loaded(self) -> bool:
        return self.loaded.is_set()

    def balance_of(self, user_id: str) -> int:
        """The last balance billing published; an account billing has not published yet has none (0)."""
        entry = self._entries.get(user_id)
        return 0 if entry is None else entry[0]

    def apply(self, user_id: str, value: BalanceValue) -> None:
        held = self._entries.get(user_id)
        if held is None or value.version >= held[1]:
            self._entries[user_id] = (value.balance_micros, value.version)

    def forget(self, user_id: str) -> None:
        self._entries.pop(user_id, None)

    def __len__(self) -> int:
        return len(self._entries)


class BalanceWatcher:
    """Watches every key of the bucket; any error, disconnect or reconnect restarts the watch.

    A fresh ``watchall`` delivers the latest value of every key first, so a restart is a full re-sync, and the
    version check in ``BalanceBook`` keeps an old value from overwriting a newer one seen before.
    """

    def __init__(self, nc: NatsClient, ns: Namespace, book: BalanceBook, *, tick_s: float = 1.0) -> None:
        self._nc = nc
        self._bucket = ns.bucket(BALANCES_BUCKET.bucket)
        self._book = book
        self._tick_s = tick_s

    async def run(self, stop: asyncio.Event) -> None:
        stopping: asyncio.Future[object] = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                if not self._nc.is_connected:
                    await asyncio.wait({stopping}, timeout=self._tick_s)
                    continue
                await self._supervise(stopping)
        finally:
            stopping.cancel()

    async def _supervise(self, stopping: asyncio.Future[object]) -> None:
        """One watch, until it ends, the connection drops or reconnects, or the process stops."""
        reconnects = self._reconnects()
        watch: asyncio.Future[object] = asyncio.create_task(self._watch_once(), name="balances-watch")
        try:
            while not watch.done() and self._healthy(reconnects) and not stopping.done():
                await asyncio.wait({watch, stopping}, timeout=self._tick_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ended_by_itself = watch.done()
            watch.cancel()
            # Bounded: a nats-py watcher cancelled while it is still being set up can take its time to unwind,
            # and stopping the process must not wait on it.
            await asyncio.wait({watch}, timeout=self._tick_s)
        if ended_by_itself and not stopping.done():
            failure = None if watch.cancelled() else watch.exception()
            log.warning("balances watch ended (%s); restarting", failure)
            await asyncio.wait({stopping}, timeout=self._tick_s)

    async def _watch_once(self) -> None:
        kv: KeyValue = await self._nc.jetstream().key_value(self._bucket)
        watcher: Any = await kv.watchall()  # nats-py leaves the watcher's methods unannotated
        try:
            async for entry in watcher:
                if entry is None:
                    self._book.loaded.set()  # the initial values have all arrived
                    continue
                self._on_entry(entry)
        finally:
            with contextlib.suppress(Exception):
                await watcher.stop()

    def _on_entry(self, entry: KeyValue.Entry) -> None:
        if entry.operation in (KV_DEL, KV_PURGE):
            self._book.forget(entry.key)
            return
        try:
            self._book.apply(entry.key, _decoder.decode(entry.value or b""))
        except (msgspec.DecodeError, msgspec.ValidationError):
            log.warning("ignoring an unreadable balance for account %s", entry.key)

    def _healthy(self, reconnects: int) -> bool:
        return self._nc.is_connected and self._reconnects() == reconnects

    def _reconnects(self) -> int:
        return int(self._nc.stats.get("reconnects", 0))
