"""Group commit: concurrent writers share INSERTs, every event lands once, close() flushes the rest."""

from __future__ import annotations

import asyncio

from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tollway.platform.db import make_metadata
from tollway.platform.messaging.outbox_writer import GroupCommitOutbox
from tollway.platform.messaging.tables import MessagingTables
from tollway.testing.exactly_once import completed

router = MessagingTables(make_metadata("inference_router"))


async def rows(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(router.outbox))).scalar_one())


async def test_concurrent_events_are_committed_in_few_inserts(engine: AsyncEngine) -> None:
    inserts = 0

    def count(*_: object) -> None:
        nonlocal inserts
        inserts += 1

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    writer = GroupCommitOutbox(engine, router.outbox, interval_s=0.01)
    writer.start()

    await asyncio.gather(*(writer.add_and_wait(completed(i)) for i in range(1000)))
    await writer.close()

    assert await rows(engine) == 1000
    assert inserts <= 20


async def test_close_flushes_events_added_without_waiting(engine: AsyncEngine) -> None:
    writer = GroupCommitOutbox(engine, router.outbox, interval_s=5.0)
    writer.start()
    for i in range(10):
        writer.add(completed(i))

    await writer.close()

    assert await rows(engine) == 10


async def test_a_cancelled_waiter_still_gets_its_event_committed(engine: AsyncEngine) -> None:
    writer = GroupCommitOutbox(engine, router.outbox, interval_s=0.05)
    writer.start()
    waiter = asyncio.create_task(writer.add_and_wait(completed(1)))
    await asyncio.sleep(0)
    waiter.cancel()

    await writer.close()

    assert await rows(engine) == 1
