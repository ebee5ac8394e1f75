"""What billing's use cases need from the outside world: the ledger store and the balances bucket."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol

from tollway.billing.domain.audit import AuditReport
from tollway.billing.domain.idempotency import StoredResponse
from tollway.billing.domain.ledger import AccountState, BalanceSnapshot, Posting, Settlement
from tollway.billing.domain.pages import TransactionQuery
from tollway.contracts import Event

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

    async def commit(self) -> None: ...


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
