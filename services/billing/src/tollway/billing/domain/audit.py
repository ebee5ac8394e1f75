"""The ledger's invariants as named checks, and the report ``python -m tollway.billing verify`` prints."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

CHECKS = {
    "balance_is_sum": "each account's stored balance equals the sum of its transactions",
    "running_balance": "each transaction's balance_after is the running sum in sequence order (1, 2, 3, ...)",
    "version_is_last_seq": "each account's version equals the sequence number of its latest transaction",
    "one_usage_per_request": "at most one usage transaction per request id",
    "refund_within_charge": "refunds are of usage transactions, positive, and never sum to more than the charge",
    "coupon_uses_within_max": "each coupon's times_used equals its redemptions, and never exceeds max_uses",
    "coupon_once_per_user": "no user redeemed a coupon, or was credited for it, more than once",
    "one_ledger_row_per_redemption": "each redemption has one coupon transaction of its coupon's value, and back",
    "overspend_bound": "no balance ever went below the overspend bound",
    "key_spend_is_sum": "each key's budget counter equals its usage in the ledger for that day or month",
    "budget_overspend_bound": "no key's spend in a day or month passed its limit by more than the overspend bound",
    "one_budget_event_per_period": "each day or month at or over a key's limit has exactly one budget.exceeded",
}


class CheckResult(msgspec.Struct, frozen=True):
    name: str
    violations: int
    examples: list[str] = msgspec.field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.violations == 0


class AuditReport(msgspec.Struct, frozen=True):
    results: list[CheckResult]
    accounts: int
    transactions: int

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    def render(self) -> str:
        lines = [f"billing ledger: {self.accounts} accounts, {self.transactions} transactions"]
        for result in self.results:
            status = "ok  " if result.passed else "FAIL"
            lines.append(f"  {status} {result.name}: {CHECKS.get(result.name, '')}")
            if not result.passed:
                lines.append(f"       {result.violations} violation(s), e.g.:")
                lines.extend(f"         - {example}" for example in result.examples)
        lines.append("verdict: " + ("all invariants hold" if self.passed else "INVARIANTS VIOLATED"))
        return "\n".join(lines)


def report(results: Sequence[CheckResult], accounts: int, transactions: int) -> AuditReport:
    return AuditReport(list(results), accounts, transactions)
