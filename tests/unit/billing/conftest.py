"""In-memory fakes of billing's ports, with commit/rollback semantics like the SQL unit of work."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from tollway.billing.domain.audit import AuditReport, CheckResult, report
from tollway.billing.domain.budgets import KeyBudget, KeySpend, PeriodKey, PeriodSpend, debits_of, period_of
from tollway.billing.domain.idempotency import StoredResponse
from tollway.billing.domain.ids import new_account_id
from tollway.billing.domain.ledger import AccountState, BalanceSnapshot, Posting, Settlement
from tollway.billing.domain.pages import TransactionQuery
from tollway.contracts import BudgetExceededV1, Event

START = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@dataclass
class LedgerState:
    accounts: dict[str, AccountState] = field(default_factory=dict)  # by user id
    postings: list[Posting] = field(default_factory=list)
    inbox: set[tuple[str, str]] = field(default_factory=set)
    outbox: list[Event] = field(default_factory=list)
    keys: dict[str, tuple[str, bytes | None]] = field(default_factory=dict)
    budgets: dict[str, KeyBudget] = field(default_factory=dict)
    key_spend: dict[PeriodKey, KeySpend] = field(default_factory=dict)


class InMemorySession:
    def __init__(self, ledger: InMemoryLedger) -> None:
        self._ledger = ledger
        self.state = copy.deepcopy(ledger.state)

    async def claim_events(self, consumer: str, event_ids: Sequence[str]) -> set[str]:
        new = {i for i in event_ids if (consumer, i) not in self.state.inbox}
        self.state.inbox.update((consumer, i) for i in new)
        return new

    async def lock_accounts(self, user_ids: Collection[str]) -> dict[str, AccountState]:
        for user_id in user_ids:
            self.state.accounts.setdefault(user_id, AccountState(id=new_account_id(), user_id=user_id))
        return {u: self.state.accounts[u] for u in user_ids}

    async def known_references(self, references: Collection[str]) -> set[str]:
        return {p.reference for p in self.state.postings} & set(references)

    async def append(self, settlement: Settlement) -> None:
        posted = {p.reference for p in self.state.postings}
        for posting in settlement.postings:
            assert posting.reference not in posted, f"unique violation: {posting.reference}"  # like the DB
            posted.add(posting.reference)
        self.state.postings.extend(settlement.postings)
        self.state.accounts.update({a.user_id: a for a in settlement.accounts})

    async def stage(self, events: Sequence[Event]) -> None:
        self.state.outbox.extend(events)

    async def find_transaction(self, transaction_id: str) -> Posting | None:
        return next((p for p in self.state.postings if p.id == transaction_id), None)

    async def find_by_reference(self, reference: str) -> Posting | None:
        return next((p for p in self.state.postings if p.reference == reference), None)

    async def claim_key(self, key: str, fingerprint: str) -> StoredResponse | None:
        if key in self.state.keys:
            stored_fingerprint, body = self.state.keys[key]
            assert body is not None
            return StoredResponse(stored_fingerprint, body)
        self.state.keys[key] = (fingerprint, None)
        return None

    async def store_response(self, key: str, body: bytes) -> None:
        self.state.keys[key] = (self.state.keys[key][0], body)

    async def admin_credit_since(self, since: datetime) -> int:
        return sum(
            p.amount_micros
            for p in self.state.postings
            if p.type in ("grant", "adjustment") and p.amount_micros > 0 and p.created_at >= since
        )

    async def usage_before(self, account_id: str, at: datetime) -> int:
        return -sum(
            p.amount_micros
            for p in self.state.postings
            if p.account_id == account_id and p.type == "usage" and p.created_at < at
        )

    async def refunds_of(self, transaction_id: str) -> tuple[int, int]:
        refunds = [
            p.amount_micros
            for p in self.state.postings
            if p.type == "refund" and p.metadata.get("refunded_transaction_id") == transaction_id
        ]
        return sum(refunds), len(refunds)

    async def key_budgets(self, api_key_ids: Collection[str]) -> dict[str, KeyBudget]:
        return {k: b for k, b in self.state.budgets.items() if k in api_key_ids}

    async def save_key_budgets(self, budgets: Sequence[KeyBudget]) -> None:
        for budget in budgets:
            seen = self.state.budgets.get(budget.api_key_id)
            if seen is None or seen.changed_at < budget.changed_at:
                self.state.budgets[budget.api_key_id] = budget

    async def add_key_spend(self, spends: Sequence[PeriodSpend]) -> dict[PeriodKey, KeySpend]:
        for spend in spends:
            seen = self.state.key_spend.get(spend.key)
            if seen is None:  # from the ledger, the batch's postings included, like the SQL counter
                spent = sum(
                    d.amount_micros
                    for d in debits_of(self.state.postings)
                    if d.api_key_id == spend.key.api_key_id and period_of(spend.key.window, d.at) == spend.key.period
                )
                self.state.key_spend[spend.key] = KeySpend(spent, announced=False)
            else:
                self.state.key_spend[spend.key] = KeySpend(seen.spent_micros + spend.added_micros, seen.announced)
        return {s.key: self.state.key_spend[s.key] for s in spends}

    async def mark_exceeded(self, events: Sequence[BudgetExceededV1], at: datetime) -> set[PeriodKey]:
        marked = set()
        for event in events:
            key = PeriodKey(event.api_key_id, event.window, event.period)
            if not self.state.key_spend[key].announced:
                self.state.key_spend[key] = KeySpend(self.state.key_spend[key].spent_micros, announced=True)
                marked.add(key)
        return marked

    async def commit(self) -> None:
        self._ledger.state = self.state
        self._ledger.commits += 1


class InMemoryLedger:
    def __init__(self) -> None:
        self.state = LedgerState()
        self.commits = 0

    @asynccontextmanager
    async def session(self) -> AsyncIterator[InMemorySession]:
        yield InMemorySession(self)

    async def account(self, user_id: str) -> AccountState | None:
        return self.state.accounts.get(user_id)

    async def transactions(self, account_id: str, query: TransactionQuery) -> list[Posting]:
        rows = [p for p in self.state.postings if p.account_id == account_id]
        rows = [p for p in rows if query.type is None or p.type == query.type]
        rows = [p for p in rows if query.since is None or p.created_at >= query.since]
        rows = [p for p in rows if query.until is None or p.created_at < query.until]
        after = query.after
        rows = [p for p in rows if after is None or (p.created_at, p.id) < (after.created_at, after.id)]
        rows.sort(key=lambda p: (p.created_at, p.id), reverse=True)
        return rows[: query.limit + 1]

    async def due_trials(self, now: datetime, limit: int) -> list[str]:
        due = [a for a in self.state.accounts.values() if a.trial_expires_at and a.trial_expires_at <= now]
        return [a.user_id for a in sorted(due, key=lambda a: a.trial_expires_at or now)][:limit]

    async def snapshots(self, after_user_id: str, limit: int) -> list[BalanceSnapshot]:
        accounts = sorted(
            (a for a in self.state.accounts.values() if a.user_id > after_user_id), key=lambda a: a.user_id
        )
        return [BalanceSnapshot(a.user_id, a.balance_micros, a.version) for a in accounts[:limit]]

    async def audit(self, overspend_bound_micros: int) -> AuditReport:
        wrong = [
            f"{a.user_id}: {a.balance_micros}"
            for a in self.state.accounts.values()
            if a.balance_micros != sum(p.amount_micros for p in self.postings_of(a.user_id))
        ]
        low = [f"{a.user_id}" for a in self.state.accounts.values() if a.balance_micros < -overspend_bound_micros]
        checks = [CheckResult("balance_is_sum", len(wrong), wrong), CheckResult("overspend_bound", len(low), low)]
        return report(checks, len(self.state.accounts), len(self.state.postings))

    def postings_of(self, user_id: str) -> list[Posting]:
        account = self.state.accounts.get(user_id)
        return (
            []
            if account is None
            else sorted((p for p in self.state.postings if p.account_id == account.id), key=lambda p: p.seq)
        )


class RecordingSink:
    """Keeps every published snapshot; fails the test if a user's version ever goes backwards."""

    def __init__(self) -> None:
        self.latest: dict[str, BalanceSnapshot] = {}
        self.published: list[BalanceSnapshot] = []

    async def publish(self, snapshots: Sequence[BalanceSnapshot]) -> None:
        for snapshot in snapshots:
            previous = self.latest.get(snapshot.user_id)
            assert previous is None or snapshot.version > previous.version, (previous, snapshot)
            self.latest[snapshot.user_id] = snapshot
            self.published.append(snapshot)


class FakeClock:
    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture
def ledger() -> InMemoryLedger:
    return InMemoryLedger()


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fakes() -> tuple[type[InMemoryLedger], type[RecordingSink], type[FakeClock]]:
    """The fake classes themselves, for tests that build several (the Hypothesis state machine)."""
    return InMemoryLedger, RecordingSink, FakeClock
