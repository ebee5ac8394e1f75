"""The ledger invariants as set-based SQL over the whole ``billing`` schema (``verify`` runs them)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tollway.billing.db.budgets import DEBIT_TIME_SQL
from tollway.billing.domain.audit import AuditReport, CheckResult, report

EXAMPLES = 5

# Each budgeted key's usage per UTC day and month as the ledger records it (the counters must agree).
_KEY_PERIODS = f"""
    WITH debits AS (
        SELECT t.metadata->>'api_key_id' AS api_key_id, t.account_id, -t.amount_micros AS spent,
               {DEBIT_TIME_SQL} AT TIME ZONE 'UTC' AS at
        FROM billing.transactions t
        WHERE t.type = 'usage' AND t.metadata->>'api_key_id' IN (SELECT api_key_id FROM billing.key_spend)),
    ledger AS (
        SELECT api_key_id, account_id, 'day' AS budget_window, to_char(at, 'YYYYMMDD') AS period, sum(spent) AS spent
        FROM debits GROUP BY 1, 2, 3, 4
        UNION ALL
        SELECT api_key_id, account_id, 'month', to_char(at, 'YYYYMM'), sum(spent) FROM debits GROUP BY 1, 2, 3, 4)"""  # noqa: S608
_PERIOD_NAME = "s.api_key_id || ' ' || s.budget_window || ' ' || s.period"

# Each query returns the offending rows (empty when the invariant holds) as (what, detail).
CHECK_QUERIES: dict[str, str] = {
    "balance_is_sum": """
        SELECT a.user_id, 'balance ' || a.balance_micros || ' but transactions sum to ' || coalesce(s.total, 0)
        FROM billing.accounts a
        LEFT JOIN (SELECT account_id, sum(amount_micros) AS total FROM billing.transactions GROUP BY account_id) s
            ON s.account_id = a.id
        WHERE a.balance_micros <> coalesce(s.total, 0)""",
    "running_balance": """
        SELECT id, 'seq ' || seq || ' (position ' || position || '): balance_after ' || balance_after_micros
               || ' but running sum ' || running
        FROM (SELECT t.id, t.seq, t.balance_after_micros,
                     sum(t.amount_micros) OVER w AS running, row_number() OVER w AS position
              FROM billing.transactions t
              WINDOW w AS (PARTITION BY t.account_id ORDER BY t.seq ROWS UNBOUNDED PRECEDING)) x
        WHERE balance_after_micros <> running OR seq <> position""",
    "version_is_last_seq": """
        SELECT a.user_id, 'version ' || a.version || ' but last seq ' || coalesce(max(t.seq), 0)
        FROM billing.accounts a LEFT JOIN billing.transactions t ON t.account_id = a.id
        GROUP BY a.id HAVING a.version <> coalesce(max(t.seq), 0)""",
    "one_usage_per_request": """
        SELECT metadata->>'request_id', count(*) || ' usage transactions'
        FROM billing.transactions WHERE type = 'usage'
        GROUP BY metadata->>'request_id' HAVING count(*) > 1""",
    "refund_within_charge": """
        SELECT u.id, count(*) || ' refund(s) of ' || sum(r.amount_micros) || ' for a charge of ' || -u.amount_micros
        FROM billing.transactions r
        JOIN billing.transactions u ON u.id = r.metadata->>'refunded_transaction_id'
        WHERE r.type = 'refund'
        GROUP BY u.id, u.amount_micros, u.type
        HAVING u.type <> 'usage' OR sum(r.amount_micros) > -u.amount_micros OR min(r.amount_micros) <= 0""",
    "coupon_uses_within_max": """
        SELECT c.code, 'times_used ' || c.times_used || ', ' || count(r.id) || ' redemption(s), max_uses '
               || coalesce(c.max_uses::text, 'none')
        FROM billing.coupons c LEFT JOIN billing.coupon_redemptions r ON r.coupon_id = c.id
        GROUP BY c.id
        HAVING c.times_used <> count(r.id) OR count(r.id) > coalesce(c.max_uses, count(r.id))""",
    "coupon_once_per_user": """
        SELECT coalesce(c.code, x.coupon_id) || ' / ' || x.user_id,
               x.redemptions || ' redemption(s), ' || x.postings || ' coupon transaction(s)'
        FROM (SELECT coupon_id, user_id, sum(r) AS redemptions, sum(p) AS postings
              FROM (SELECT coupon_id, user_id, 1 AS r, 0 AS p FROM billing.coupon_redemptions
                    UNION ALL
                    SELECT t.metadata->>'coupon_id', a.user_id, 0, 1
                    FROM billing.transactions t JOIN billing.accounts a ON a.id = t.account_id
                    WHERE t.type = 'coupon') u
              GROUP BY coupon_id, user_id HAVING sum(r) > 1 OR sum(p) > 1) x
        LEFT JOIN billing.coupons c ON c.id = x.coupon_id""",
    "one_ledger_row_per_redemption": """
        SELECT coalesce(r.id, t.id), CASE
                   WHEN t.id IS NULL THEN 'redemption without its coupon transaction'
                   WHEN r.id IS NULL THEN 'coupon transaction without a redemption'
                   WHEN r.value_micros <> c.value_micros
                       THEN 'redemption of ' || r.value_micros || ' from a coupon worth ' || c.value_micros
                   ELSE 'redemption of ' || r.value_micros || ' but transaction of ' || t.amount_micros END
        FROM billing.coupon_redemptions r
        LEFT JOIN billing.coupons c ON c.id = r.coupon_id
        FULL JOIN (SELECT * FROM billing.transactions WHERE type = 'coupon') t ON t.id = r.transaction_id
        WHERE r.id IS NULL OR t.id IS NULL OR r.value_micros <> t.amount_micros
              OR r.value_micros IS DISTINCT FROM c.value_micros
              OR t.reference <> 'coupon:' || r.coupon_id || ':' || r.user_id""",
    "overspend_bound": """
        SELECT a.user_id, 'lowest balance ' || least(a.balance_micros, min(t.balance_after_micros))
        FROM billing.accounts a LEFT JOIN billing.transactions t ON t.account_id = a.id
        GROUP BY a.id HAVING least(a.balance_micros, min(t.balance_after_micros)) < -CAST(:bound AS bigint)""",
    "key_spend_is_sum": f"""
        {_KEY_PERIODS}
        SELECT {_PERIOD_NAME}, 'counter ' || s.spent_micros || ' but usage sums to ' || coalesce(l.spent, 0)
        FROM billing.key_spend s LEFT JOIN ledger l USING (api_key_id, account_id, budget_window, period)
        WHERE s.spent_micros <> coalesce(l.spent, 0)""",  # noqa: S608
    "budget_overspend_bound": f"""
        {_KEY_PERIODS}
        SELECT {_PERIOD_NAME}, 'spent ' || l.spent || ' against a limit of ' || s.limit_micros
        FROM billing.key_spend s JOIN ledger l USING (api_key_id, account_id, budget_window, period)
        WHERE l.spent > s.limit_micros + CAST(:bound AS bigint)""",  # noqa: S608
    "one_budget_event_per_period": f"""
        {_KEY_PERIODS}, staged AS (
            SELECT e->>'api_key_id' AS api_key_id, e->>'window' AS budget_window, e->>'period' AS period,
                   count(*) AS events
            FROM (SELECT convert_from(payload, 'UTF8')::jsonb AS e FROM billing.outbox
                  WHERE subject = 'billing.budget.exceeded.v1') o
            GROUP BY 1, 2, 3)
        SELECT coalesce(s.api_key_id, x.api_key_id) || ' ' || coalesce(s.budget_window, x.budget_window) || ' '
               || coalesce(s.period, x.period), CASE
                   WHEN s.api_key_id IS NULL THEN x.events || ' budget.exceeded event(s) for a period never counted'
                   WHEN x.events > 1 THEN x.events || ' budget.exceeded events staged'
                   ELSE 'spent ' || l.spent || ' of a limit of ' || s.limit_micros || ' but no budget.exceeded' END
        FROM billing.key_spend s
        LEFT JOIN ledger l USING (api_key_id, account_id, budget_window, period)
        FULL JOIN staged x ON (x.api_key_id, x.budget_window, x.period) = (s.api_key_id, s.budget_window, s.period)
        WHERE s.api_key_id IS NULL OR x.events > 1
              OR (s.exceeded_event_id IS NULL AND coalesce(l.spent, 0) >= s.limit_micros)""",  # noqa: S608
}


async def run_check(conn: AsyncConnection, name: str, bound: int) -> CheckResult:
    query = CHECK_QUERIES[name]
    params = {"bound": bound} if ":bound" in query else {}
    count = (await conn.execute(text(f"SELECT count(*) FROM ({query}) q"), params)).scalar_one()  # noqa: S608
    rows = (await conn.execute(text(f"{query} LIMIT {EXAMPLES}"), params)).all()
    return CheckResult(name, int(count), [f"{what}: {detail}" for what, detail in rows])


async def run_audit(conn: AsyncConnection, overspend_bound_micros: int) -> AuditReport:
    """Every check in one repeatable-read snapshot, so a busy ledger is judged at a single point in time."""
    await conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
    results = [await run_check(conn, name, overspend_bound_micros) for name in CHECK_QUERIES]
    accounts = (await conn.execute(text("SELECT count(*) FROM billing.accounts"))).scalar_one()
    transactions = (await conn.execute(text("SELECT count(*) FROM billing.transactions"))).scalar_one()
    return report(results, int(accounts), int(transactions))
