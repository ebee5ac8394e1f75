"""The worker's bucket sink: consumers never wait, the newest snapshot per user wins, failures are retried."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from tollway.billing.balances import CoalescingBalances
from tollway.billing.domain.ledger import BalanceSnapshot


class FakeWriter:
    def __init__(self, fail_first: int = 0) -> None:
        self.batches: list[list[BalanceSnapshot]] = []
        self.fail_first = fail_first

    async def write_all(self, snapshots: Sequence[BalanceSnapshot]) -> list[BalanceSnapshot]:
        self.batches.append(list(snapshots))
        if self.fail_first:
            self.fail_first -= 1
            return list(snapshots)
        return []


async def test_only_the_newest_snapshot_per_user_is_written() -> None:
    writer = FakeWriter()
    sink = CoalescingBalances(writer, interval_s=0.01)  # type: ignore[arg-type]
    await sink.publish([BalanceSnapshot("u1", 10, 1), BalanceSnapshot("u2", 5, 1)])
    await sink.publish([BalanceSnapshot("u1", 7, 3), BalanceSnapshot("u1", 9, 2)])
    await sink.flush()
    assert sorted(writer.batches[0], key=lambda s: s.user_id) == [
        BalanceSnapshot("u1", 7, 3),
        BalanceSnapshot("u2", 5, 1),
    ]


async def test_failed_writes_come_back_unless_something_newer_arrived() -> None:
    writer = FakeWriter(fail_first=1)
    sink = CoalescingBalances(writer, interval_s=0.01, retry_delay_s=0.01)  # type: ignore[arg-type]
    await sink.publish([BalanceSnapshot("u1", 10, 1), BalanceSnapshot("u2", 5, 1)])
    await sink.flush()  # fails
    await sink.publish([BalanceSnapshot("u2", 4, 2)])
    await sink.flush()
    assert sorted(writer.batches[1], key=lambda s: s.user_id) == [
        BalanceSnapshot("u1", 10, 1),
        BalanceSnapshot("u2", 4, 2),
    ]


async def test_run_flushes_until_stopped_and_once_more_on_the_way_out() -> None:
    writer = FakeWriter()
    sink = CoalescingBalances(writer, interval_s=0.01)  # type: ignore[arg-type]
    stop = asyncio.Event()
    task = asyncio.create_task(sink.run(stop))
    await sink.publish([BalanceSnapshot("u1", 1, 1)])
    await asyncio.sleep(0.05)
    await sink.publish([BalanceSnapshot("u1", 2, 2)])
    stop.set()
    await task
    written = [s for batch in writer.batches for s in batch]
    assert written[-1] == BalanceSnapshot("u1", 2, 2)
