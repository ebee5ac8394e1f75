"""Use cases of per-key budgets: learn each key's limits, count its debits, announce the debit that reaches one."""

from __future__ import annotations

from collections.abc import Sequence

from tollway.billing.domain.budgets import PeriodKey, debits_of, exceeded_event, latest_budgets, spend_by_period
from tollway.billing.domain.ledger import Posting
from tollway.billing.ports import Clock, Ledger, LedgerSession
from tollway.contracts import ApiKeyBudgetChangedV1, BudgetExceededV1


async def record_key_budgets(events: Sequence[ApiKeyBudgetChangedV1], ledger: Ledger, *, consumer: str) -> int:
    """Project the gateway's budget announcements (inbox: once each; the latest change of a key wins)."""
    async with ledger.session() as s:
        new = await s.claim_events(consumer, [e.event_id for e in events])
        budgets = latest_budgets([e for e in events if e.event_id in new])
        await s.save_key_budgets(budgets)
        await s.commit()
    return len(budgets)


async def track_key_spend(s: LedgerSession, postings: Sequence[Posting], clock: Clock) -> list[BudgetExceededV1]:
    """Count freshly posted debits against their keys' budgets; stage one announcement per period reached.

    Runs in the debits' transaction after ``append``, with their accounts locked: a redelivered usage event posts
    nothing and so counts nothing, and concurrent batches of one key take turns, so a period is announced once.
    """
    debits = debits_of(postings)
    budgets = await s.key_budgets({d.api_key_id for d in debits}) if debits else {}
    spends = spend_by_period(debits, budgets)
    if not spends:
        return []
    counters = await s.add_key_spend(spends)
    owed = [
        event
        for spend in spends
        if not counters[spend.key].announced
        and (event := exceeded_event(spend, counters[spend.key].spent_micros - spend.added_micros)) is not None
    ]
    marked = await s.mark_exceeded(owed, clock())
    events = [e for e in owed if PeriodKey(e.api_key_id, e.window, e.period) in marked]
    await s.stage(events)
    return events
