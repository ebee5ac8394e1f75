"""The ledger invariants as set-based SQL over the whole ``billing`` schema (``verify`` runs them)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tollway.billing.domain.audit import AuditReport, CheckResult, report

EXAMPLES = 5

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
    "one_ledger_row_per_redemption": """
        SELECT coalesce(r.id, t.id), CASE
                   WHEN t.id IS NULL THEN 'redemption without its coupon transaction'
                   WHEN r.id IS NULL THEN 'coupon transaction without a redemption'
                   ELSE 'redemption of ' || r.value_micros || ' but transaction of ' || t.amount_micros END
        FROM billing.coupon_redemptions r
        FULL JOIN (SELECT * FROM billing.transactions WHERE type = 'coupon') t ON t.id = r.transaction_id
        WHERE r.id IS NULL OR t.id IS NULL OR r.value_micros <> t.amount_micros
              OR t.reference <> 'coupon:' || r.coupon_id || ':' || r.user_id""",
    "overspend_bound": """
        SELECT a.user_id, 'lowest balance ' || least(a.balance_micros, min(t.balance_after_micros))
        FROM billing.accounts a LEFT JOIN billing.transactions t ON t.account_id = a.id
        GROUP BY a.id HAVING least(a.balance_micros, min(t.balance_after_micros)) < -CAST(:bound AS bigint)""",
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
