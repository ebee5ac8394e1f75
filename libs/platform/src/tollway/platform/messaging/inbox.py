"""The idempotent-consumer inbox: processed event ids recorded in the caller's own transaction."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

from sqlalchemy import Table, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql.dml import ReturningInsert


@cache
def _claim_statement(inbox: Table) -> ReturningInsert[Any]:
    # One array parameter instead of a VALUES list: the SQL never changes, so it is compiled and prepared once
    # (a per-batch VALUES list cost ~45 ms of compilation per 1,000 ids).
    ids = func.unnest(bindparam("event_ids", type_=ARRAY(inbox.c.event_id.type)))
    return (
        insert(inbox)
        .from_select(
            [inbox.c.consumer, inbox.c.event_id], select(bindparam("consumer", type_=inbox.c.consumer.type), ids)
        )
        .on_conflict_do_nothing(index_elements=[inbox.c.consumer, inbox.c.event_id])
        .returning(inbox.c.event_id)
    )


async def claim_events(
    db: AsyncSession | AsyncConnection, inbox: Table, consumer: str, event_ids: Iterable[str]
) -> set[str]:
    """Record ``event_ids`` as processed by ``consumer``; return those not seen before.

    Call it inside the transaction that applies the events' effects: if that transaction rolls back, the claim
    does too, and a redelivery is processed again; once it commits, any redelivery is a no-op.
    """
    ids = sorted(set(event_ids))  # one order for every batch: overlapping concurrent claims never deadlock
    if not ids:
        return set()
    result = await db.execute(_claim_statement(inbox), {"consumer": consumer, "event_ids": ids})
    return set(result.scalars().all())
