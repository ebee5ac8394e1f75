"""The balances KV bucket: compare-and-set writes that never let an older version replace a newer one."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from contextlib import suppress

import msgspec
from nats.js import JetStreamContext, api
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from tollway.billing.domain.ledger import BalanceSnapshot
from tollway.contracts.streams import BALANCES_BUCKET, BalanceValue
from tollway.platform.messaging import Namespace

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 20
MAX_REMEMBERED = 200_000
PIPELINE_TIMEOUT_S = 5.0


_KEY = re.compile(r"^[-/_=.a-zA-Z0-9]+$")  # what NATS KV accepts as a key
_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(BalanceValue)


class KvBalances:
    """Writes snapshots with compare-and-set; a lost race re-reads and yields to a newer version.

    It remembers the revision and version it last wrote or saw per key. A key with a remembered revision is written
    pipelined (``publish_async`` with ``Nats-Expected-Last-Subject-Sequence``: one message, no round trip each, ~3x
    the rate of ``kv.update``); a key without one, or whose revision moved, takes the read-compare-update path.
    """

    def __init__(self, js: JetStreamContext, ns: Namespace, concurrency: int = 128) -> None:
        self._js = js
        self._bucket = ns.bucket(BALANCES_BUCKET.bucket)
        self._subject_prefix = f"$KV.{self._bucket}."  # nats-py's KeyValue subjects (no JetStream domain here)
        self._kv: KeyValue | None = None
        self._known: dict[str, tuple[int, int]] = {}  # key -> (revision, version)
        self._slots = asyncio.Semaphore(concurrency)

    async def prime(self) -> int:
        """Learn every key's revision and version in one pass over the bucket (no read per key).

        A full resync after it writes only the keys whose version differs.
        """
        watcher = await (await self._kv_bucket()).watchall(ignore_deletes=True)
        learned = 0
        try:
            while learned < MAX_REMEMBERED:
                entry = await watcher.updates(timeout=PIPELINE_TIMEOUT_S)  # type: ignore[no-untyped-call]
                if entry is None:  # the marker after the last current value
                    break
                stored = -1
                with suppress(msgspec.DecodeError, msgspec.ValidationError):
                    stored = _decoder.decode(entry.value or b"").version
                self._remember(entry.key, entry.revision or 0, stored)
                learned += 1
        finally:
            await watcher.stop()  # type: ignore[no-untyped-call]
        return learned

    async def publish(self, snapshots: Sequence[BalanceSnapshot]) -> None:
        """Write every snapshot; failures are logged, never raised: the ledger is committed, a resync repairs."""
        await self.write_all(snapshots)

    async def write_all(self, snapshots: Sequence[BalanceSnapshot]) -> list[BalanceSnapshot]:
        """Write every snapshot newer than what this writer knows; returns those that could not be written."""
        newest: dict[str, BalanceSnapshot] = {}
        for s in snapshots:
            if s.user_id not in newest or s.version > newest[s.user_id].version:
                newest[s.user_id] = s
        fresh = [s for s in newest.values() if _valid_key(s.user_id) and not self._knows_newer(s)]
        known = [s for s in fresh if s.user_id in self._known]
        slow = [s for s in fresh if s.user_id not in self._known] + await self._pipelined(known)
        results = await asyncio.gather(*(self._guarded(s) for s in slow), return_exceptions=True)
        failed = [(s, r) for s, r in zip(slow, results, strict=True) if isinstance(r, BaseException)]
        if failed:
            log.warning("balances bucket: %d of %d writes failed (%s)", len(failed), len(snapshots), failed[0][1])
        return [s for s, _ in failed]

    def _knows_newer(self, snapshot: BalanceSnapshot) -> bool:
        known = self._known.get(snapshot.user_id)
        return known is not None and known[1] >= snapshot.version

    async def _pipelined(self, snapshots: Sequence[BalanceSnapshot]) -> list[BalanceSnapshot]:
        """Conditional writes against the remembered revisions; returns the ones that lost a race."""
        pending = []
        for s in snapshots:
            headers = {api.Header.EXPECTED_LAST_SUBJECT_SEQUENCE: str(self._known[s.user_id][0])}
            future = await self._js.publish_async(self._subject_prefix + s.user_id, _value(s), headers=headers)
            pending.append((s, future))
        if pending:
            await asyncio.wait([f for _, f in pending], timeout=PIPELINE_TIMEOUT_S)
        lost = []
        for s, future in pending:
            if future.done() and not future.cancelled() and future.exception() is None:
                self._remember(s.user_id, future.result().seq, s.version)
            else:  # a wrong last sequence (someone else wrote) or no answer in time: retry the careful way
                future.cancel()
                lost.append(s)
        return lost

    async def _guarded(self, snapshot: BalanceSnapshot) -> None:
        async with self._slots:
            await self.write(snapshot)

    async def write(self, snapshot: BalanceSnapshot) -> None:
        """Read the stored version, write only if older, retry when another writer got in between."""
        key, version, value = snapshot.user_id, snapshot.version, _value(snapshot)
        kv = await self._kv_bucket()
        for _ in range(MAX_ATTEMPTS):
            revision, stored = await self._read(kv, key)
            if stored >= version:
                return
            try:
                self._remember(key, await kv.update(key, value, last=revision), version)
                return
            except KeyWrongLastSequenceError:
                continue
        raise RuntimeError(f"balances bucket: gave up on {key} after {MAX_ATTEMPTS} conflicting writes")

    async def _read(self, kv: KeyValue, key: str) -> tuple[int, int]:
        """The key's current revision and stored version (``-1`` when absent or unreadable)."""
        try:
            entry = await kv.get(key)
        except KeyNotFoundError as missing:
            # A deleted key keeps its revision (the tombstone); an absent one has revision 0.
            tombstone = getattr(missing, "entry", None)
            return (tombstone.revision if tombstone else 0) or 0, -1
        stored = -1
        with suppress(msgspec.DecodeError, msgspec.ValidationError):
            stored = _decoder.decode(entry.value or b"").version
        self._remember(key, entry.revision or 0, stored)
        return entry.revision or 0, stored

    def _remember(self, key: str, revision: int, version: int) -> None:
        known = self._known.get(key)
        if known is None or revision > known[0]:
            if len(self._known) >= MAX_REMEMBERED:
                self._known.clear()  # only an optimisation: a forgotten key costs one extra read
            self._known[key] = (revision, version)

    async def _kv_bucket(self) -> KeyValue:
        if self._kv is None:
            self._kv = await self._js.key_value(self._bucket)
        return self._kv


def _value(snapshot: BalanceSnapshot) -> bytes:
    return _encoder.encode(BalanceValue(snapshot.balance_micros, snapshot.version))


def _valid_key(key: str) -> bool:
    if _KEY.match(key) and not key.startswith(".") and not key.endswith("."):
        return True
    log.error("balances bucket: user id %r is not a valid KV key; skipped", key)
    return False


class CoalescingBalances:
    """The worker's sink: ``publish`` only records the newest snapshot per user; ``run`` writes them behind.

    Consumers never wait on the bucket, and a hot account written by many batches costs one write per flush.
    """

    def __init__(self, writer: KvBalances, *, interval_s: float = 0.2, retry_delay_s: float = 1.0) -> None:
        self._writer = writer
        self._pending: dict[str, BalanceSnapshot] = {}
        self._ready = asyncio.Event()
        self._interval_s = interval_s
        self._retry_delay_s = retry_delay_s

    async def publish(self, snapshots: Sequence[BalanceSnapshot]) -> None:
        for snapshot in snapshots:
            current = self._pending.get(snapshot.user_id)
            if current is None or snapshot.version > current.version:
                self._pending[snapshot.user_id] = snapshot
        if snapshots:
            self._ready.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Flush until ``stop``; a last flush on the way out writes what committed batches left."""
        while not stop.is_set():
            with suppress(TimeoutError):
                await asyncio.wait_for(self._ready.wait(), timeout=1.0)
            await self.flush()
            # A short pause lets hot accounts coalesce: under load, one write per account per interval.
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self._interval_s)
        await self.flush()

    async def flush(self) -> None:
        self._ready.clear()
        batch, self._pending = list(self._pending.values()), {}
        failed = await self._writer.write_all(batch)
        if failed:
            await self.publish(failed)  # a newer snapshot recorded meanwhile wins over the failed one
            await asyncio.sleep(self._retry_delay_s)
