"""SQL of per-key budgets: the announced limits, and each budgeted key's spend counters per UTC period."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from sqlalchemy import ARRAY, Text, any_, bindparam, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from tollway.billing.db.tables import key_budgets, key_spend
from tollway.billing.domain.budgets import KeyBudget, KeySpend, PeriodKey, PeriodSpend, period_bounds
from tollway.contracts import BudgetExceededV1

# When a debit counts for a budget: the request's completion (the router's clock), or its posting for older rows.
DEBIT_TIME_SQL = "coalesce((t.metadata->>'completed_at')::timestamptz, t.created_at)"
# A debit is posted after its request completed; this much clock difference between hosts is still found.
CLOCK_SKEW = timedelta(minutes=10)

_SEED = text(f"""
SELECT coalesce(-sum(t.amount_micros), 0) FROM billing.transactions t
WHERE t.account_id = :account AND t.type = 'usage' AND t.created_at >= :posted_after
  AND t.metadata->>'api_key_id' = :key AND {DEBIT_TIME_SQL} >= :start AND {DEBIT_TIME_SQL} < :end
""")  # noqa: S608 - a constant expression, no input
_LOCK = text("""
SELECT s.api_key_id, s.budget_window, s.period, s.spent_micros, s.exceeded_event_id IS NOT NULL AS announced
FROM billing.key_spend s
JOIN unnest(CAST(:keys AS text[]), CAST(:windows AS text[]), CAST(:periods AS text[])) AS k(key, w, p)
    ON s.api_key_id = k.key AND s.budget_window = k.w AND s.period = k.p
ORDER BY s.api_key_id, s.budget_window, s.period
FOR UPDATE OF s
""")
_ADD = text("""
UPDATE billing.key_spend AS s
SET spent_micros = s.spent_micros + v.added, limit_micros = v.limit_micros, updated_at = now()
FROM unnest(CAST(:keys AS text[]), CAST(:windows AS text[]), CAST(:periods AS text[]),
            CAST(:added AS bigint[]), CAST(:limits AS bigint[])) AS v(key, w, p, added, limit_micros)
WHERE s.api_key_id = v.key AND s.budget_window = v.w AND s.period = v.p
""")
_MARK = text("""
UPDATE billing.key_spend AS s
SET exceeded_event_id = v.event_id, exceeded_transaction_id = v.txn, exceeded_at = :at
FROM unnest(CAST(:keys AS text[]), CAST(:windows AS text[]), CAST(:periods AS text[]),
            CAST(:events AS text[]), CAST(:txns AS text[])) AS v(key, w, p, event_id, txn)
WHERE s.api_key_id = v.key AND s.budget_window = v.w AND s.period = v.p AND s.exceeded_event_id IS NULL
RETURNING s.api_key_id, s.budget_window, s.period
""")


async def find_budgets(conn: AsyncConnection, api_key_ids: Collection[str]) -> dict[str, KeyBudget]:
    if not api_key_ids:
        return {}
    c = key_budgets.c
    query = select(c.api_key_id, c.user_id, c.day_limit_micros, c.month_limit_micros, c.changed_at).where(
        c.api_key_id == any_(bindparam("keys", type_=ARRAY(Text)))
    )
    rows = await conn.execute(query, {"keys": sorted(api_key_ids)})
    return {row.api_key_id: KeyBudget(**row._mapping) for row in rows}


async def save_budgets(conn: AsyncConnection, budgets: Sequence[KeyBudget]) -> None:
    """Upsert each budget unless a later change of its key is stored already (announcements may arrive late)."""
    if not budgets:
        return
    rows = [
        {"api_key_id": b.api_key_id, "user_id": b.user_id, "day_limit_micros": b.day_limit_micros,
         "month_limit_micros": b.month_limit_micros, "changed_at": b.changed_at}
        for b in budgets
    ]  # fmt: skip
    statement = insert(key_budgets).values(rows)
    fresh = statement.excluded
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=[key_budgets.c.api_key_id],
            set_={
                "user_id": fresh.user_id,
                "day_limit_micros": fresh.day_limit_micros,
                "month_limit_micros": fresh.month_limit_micros,
                "changed_at": fresh.changed_at,
                "updated_at": text("now()"),
            },
            where=key_budgets.c.changed_at < fresh.changed_at,
        )
    )


async def add_spend(conn: AsyncConnection, spends: Sequence[PeriodSpend]) -> dict[PeriodKey, KeySpend]:
    """Add a batch's debits to their counters (call after inserting the postings, under the accounts' locks).

    A counter seen for the first time starts from the ledger, so it includes whatever the key spent in the
    period before billing heard of its budget (the batch's own postings among them).
    """
    if not spends:
        return {}
    columns = _key_columns([s.key for s in spends])
    found = {
        PeriodKey(row.api_key_id, row.budget_window, row.period): KeySpend(int(row.spent_micros), row.announced)
        for row in await conn.execute(_LOCK, columns)
    }
    known = [s for s in spends if s.key in found]
    if known:
        added = {"added": [s.added_micros for s in known], "limits": [s.limit_micros for s in known]}
        await conn.execute(_ADD, {**_key_columns([s.key for s in known]), **added})
    result = {s.key: KeySpend(found[s.key].spent_micros + s.added_micros, found[s.key].announced) for s in known}
    for spend in spends:
        if spend.key not in found:
            result[spend.key] = KeySpend(await _seed(conn, spend), announced=False)
    return result


async def _seed(conn: AsyncConnection, spend: PeriodSpend) -> int:
    start, end = period_bounds(spend.key.window, spend.key.period)
    params = {"account": spend.account_id, "key": spend.key.api_key_id, "start": start, "end": end}
    spent = int((await conn.execute(_SEED, {**params, "posted_after": start - CLOCK_SKEW})).scalar_one())
    row = {
        "api_key_id": spend.key.api_key_id,
        "budget_window": spend.key.window,
        "period": spend.key.period,
        "account_id": spend.account_id,
        "spent_micros": spent,
        "limit_micros": spend.limit_micros,
    }
    await conn.execute(insert(key_spend).values(row))  # a concurrent insert is a bug: fail, the batch retries
    return spent


async def mark_exceeded(conn: AsyncConnection, events: Sequence[BudgetExceededV1], at: datetime) -> set[PeriodKey]:
    """Record each announcement on its counter; only counters not announced yet take one (returned)."""
    if not events:
        return set()
    keys = [PeriodKey(e.api_key_id, e.window, e.period) for e in events]
    params = {**_key_columns(keys), "events": [e.event_id for e in events], "txns": [e.transaction_id for e in events]}
    rows = await conn.execute(_MARK, {**params, "at": at})
    return {PeriodKey(row.api_key_id, row.budget_window, row.period) for row in rows}


def _key_columns(keys: Sequence[PeriodKey]) -> dict[str, list[str]]:
    return {
        "keys": [k.api_key_id for k in keys],
        "windows": [k.window for k in keys],
        "periods": [k.period for k in keys],
    }
