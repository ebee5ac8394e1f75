"""What billing's use cases need from the outside world: the ledger and coupon stores, reads, the balances bucket."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol

from tollway.billing.domain.audit import AuditReport
from tollway.billing.domain.audit_trail import AuditEntry, AuditQuery
from tollway.billing.domain.budgets import KeyBudget, KeySpend, PeriodKey, PeriodSpend
from tollway.billing.domain.coupons import Coupon, Eligibility, RedemptionRecord
from tollway.billing.domain.idempotency import StoredResponse
from tollway.billing.domain.ledger import AccountState, BalanceSnapshot, Posting, Settlement
from tollway.billing.domain.pages import TransactionQuery
from tollway.billing.domain.reports import (
    AdminTransactionQuery,
    CouponAnalytics,
    CouponQuery,
    CouponStats,
    LedgerSummary,
    RedemptionView,
    SpendLine,
    TrialAnalytics,
    TrialState,
)
from tollway.contracts import BudgetExceededV1, Event

Clock = Callable[[], datetime]


class LedgerSession(Protocol):
    """One database transaction: nothing is visible to others, or published, before ``commit``."""

    async def claim_events(self, consumer: str, event_ids: Sequence[str]) -> set[str]:
        """Inbox: the ids ``consumer`` has not processed before (claimed now)."""
        ...

    async def lock_accounts(self, user_ids: Collection[str]) -> dict[str, AccountState]:
        """Lock the users' accounts in id order (creating missing ones with a zero balance)."""
        ...

    async def known_references(self, references: Collection[str]) -> set[str]:
        """Which of ``references`` are already posted."""
        ...

    async def append(self, settlement: Settlement) -> None:
        """Insert the postings and store each account's new balance and version."""
        ...

    async def stage(self, events: Sequence[Event]) -> None:
        """Outbox: publish ``events`` if and only if this transaction commits."""
        ...

    async def find_transaction(self, transaction_id: str) -> Posting | None: ...

    async def find_by_reference(self, reference: str) -> Posting | None: ...

    async def claim_key(self, key: str, fingerprint: str) -> StoredResponse | None:
        """Claim an Idempotency-Key; ``None`` when it is new, else its first response (waits for a concurrent one)."""
        ...

    async def store_response(self, key: str, body: bytes) -> None: ...

    async def admin_credit_since(self, since: datetime) -> int:
        """Credit added by operators since ``since``; serialises operator grants until commit."""
        ...

    async def usage_before(self, account_id: str, at: datetime) -> int:
        """Micro-USD charged for usage before ``at`` (a positive number)."""
        ...

    async def refunds_of(self, transaction_id: str) -> tuple[int, int]:
        """Micro-USD refunded so far against a charge and how many refunds (call with its account locked)."""
        ...

    async def key_budgets(self, api_key_ids: Collection[str]) -> dict[str, KeyBudget]:
        """The announced budgets of those keys that have one."""
        ...

    async def save_key_budgets(self, budgets: Sequence[KeyBudget]) -> None:
        """Store each budget unless a later change of its key is stored already."""
        ...

    async def add_key_spend(self, spends: Sequence[PeriodSpend]) -> dict[PeriodKey, KeySpend]:
        """Add posted debits to their keys' counters (a new counter starts from the ledger); after ``append``."""
        ...

    async def mark_exceeded(self, events: Sequence[BudgetExceededV1], at: datetime) -> set[PeriodKey]:
        """Record the announcements on their counters; returns the counters that had none yet."""
        ...

    async def commit(self) -> None: ...


class CouponSession(LedgerSession, Protocol):
    """A ledger unit of work that also writes coupons; a coupon's row lock orders its redemptions."""

    async def insert_coupon(self, coupon: Coupon) -> None:
        """Raises ``CouponCodeTakenError`` when the code exists."""
        ...

    async def lock_coupon(self, coupon_id: str) -> Coupon | None: ...

    async def lock_coupon_by_code(self, code: str) -> Coupon | None: ...

    async def update_coupon(self, coupon: Coupon) -> None: ...

    async def coupon_eligibility(self, coupon_id: str, user_id: str) -> Eligibility: ...

    async def record_redemption(self, coupon: Coupon, posting: Posting) -> RedemptionRecord:
        """Insert the redemption row and count the use."""
        ...


class CouponLedger(Protocol):
    def session(self) -> AbstractAsyncContextManager[CouponSession]: ...


class CouponReads(Protocol):
    async def list_coupons(self, query: CouponQuery) -> list[Coupon]:
        """Newest first, up to ``query.limit + 1`` items."""
        ...

    async def get_coupon(self, coupon_id: str) -> Coupon | None: ...

    async def analytics(self, coupon_id: str) -> CouponAnalytics | None: ...

    async def stats(self, now: datetime) -> CouponStats: ...

    async def available_to(self, user_id: str, now: datetime, limit: int) -> list[Coupon]: ...

    async def history(self, user_id: str, limit: int) -> tuple[list[RedemptionView], int, int]: ...


class Reports(Protocol):
    async def admin_transactions(self, query: AdminTransactionQuery) -> list[Posting]:
        """In the query's order, up to ``query.limit + 1`` items."""
        ...

    async def ledger_summary(
        self, user_id: str | None, since: datetime | None, until: datetime | None
    ) -> LedgerSummary | None: ...

    async def spend(self, account_id: str, since: datetime) -> dict[str, list[SpendLine]]: ...

    async def trial_state(self, account_id: str, now: datetime) -> TrialState: ...

    async def trial_analytics(
        self, now: datetime, since: datetime | None, until: datetime | None
    ) -> TrialAnalytics: ...

    async def month_of(self, account_id: str, start: datetime, end: datetime) -> tuple[int, list[Posting]]: ...


class AuditTrail(Protocol):
    async def entries(self, query: AuditQuery) -> list[AuditEntry]:
        """Operators' actions newest first, up to ``query.limit + 1`` of them."""
        ...


class Ledger(Protocol):
    def session(self) -> AbstractAsyncContextManager[LedgerSession]:
        """A unit of work; leaving it without ``commit`` rolls everything back."""
        ...

    async def account(self, user_id: str) -> AccountState | None: ...

    async def transactions(self, account_id: str, query: TransactionQuery) -> list[Posting]:
        """Newest first, up to ``query.limit + 1`` items."""
        ...

    async def due_trials(self, now: datetime, limit: int) -> list[str]:
        """Users whose trial credit has expired but is not settled yet."""
        ...

    async def snapshots(self, after_user_id: str, limit: int) -> list[BalanceSnapshot]:
        """Every account's balance, in user-id order, for a full resync of the bucket."""
        ...

    async def audit(self, overspend_bound_micros: int) -> AuditReport:
        """Check every ledger invariant over all accounts."""
        ...


class BalanceSink(Protocol):
    async def publish(self, snapshots: Sequence[BalanceSnapshot]) -> None:
        """Make the snapshots visible to the credit gate; an older version never replaces a newer one."""
        ...
