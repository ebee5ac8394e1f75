"""Ledger math: an account's stored balance moves only by appending transactions, each with its running balance."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

import msgspec

from tollway.billing.domain.ids import new_transaction_id

TransactionType = Literal["trial", "grant", "purchase", "usage", "refund", "adjustment", "coupon", "expiry"]
TRANSACTION_TYPES: tuple[TransactionType, ...] = (
    "trial",
    "grant",
    "purchase",
    "usage",
    "refund",
    "adjustment",
    "coupon",
    "expiry",
)
_CREDITS = frozenset({"trial", "grant", "purchase", "refund", "coupon"})  # never negative
_DEBITS = frozenset({"usage", "expiry"})  # never positive


class AccountState(msgspec.Struct, frozen=True, kw_only=True):
    """An account as locked for posting; ``version`` is the sequence number of its latest transaction."""

    id: str
    user_id: str
    balance_micros: int = 0
    version: int = 0
    trial_expires_at: datetime | None = None


class Entry(msgspec.Struct, frozen=True, kw_only=True):
    """A transaction to post; ``reference`` is unique over the whole ledger (the idempotency of every source)."""

    type: TransactionType
    amount_micros: int
    reference: str
    description: str = ""
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)
    expires_at: datetime | None = None


class Posting(msgspec.Struct, frozen=True, kw_only=True):
    """A posted transaction: immutable, ``seq`` numbers an account's transactions 1, 2, 3, ..."""

    id: str
    account_id: str
    user_id: str
    seq: int
    type: TransactionType
    amount_micros: int
    balance_after_micros: int
    reference: str
    description: str
    metadata: dict[str, Any]
    created_at: datetime
    expires_at: datetime | None = None

    @property
    def balance_before_micros(self) -> int:
        return self.balance_after_micros - self.amount_micros


class BalanceSnapshot(msgspec.Struct, frozen=True):
    """What the balances bucket holds per user; a higher ``version`` is always newer."""

    user_id: str
    balance_micros: int
    version: int


def check_sign(entry: Entry) -> None:
    """Credits never take money away and debits never add it; a wrong sign is a bug, not input."""
    if entry.type in _CREDITS and entry.amount_micros < 0:
        raise ValueError(f"{entry.type} amount must not be negative: {entry.amount_micros}")
    if entry.type in _DEBITS and entry.amount_micros > 0:
        raise ValueError(f"{entry.type} amount must not be positive: {entry.amount_micros}")


def post(account: AccountState, entries: Sequence[Entry], now: datetime) -> tuple[AccountState, list[Posting]]:
    """Append ``entries`` in order: each posting carries the running balance and the next sequence number."""
    balance, version, trial_expires_at = account.balance_micros, account.version, account.trial_expires_at
    postings = []
    for entry in entries:
        check_sign(entry)
        balance += entry.amount_micros
        version += 1
        if entry.type == "trial":
            trial_expires_at = entry.expires_at
        elif entry.type == "expiry":
            trial_expires_at = None
        postings.append(_posting(account, entry, version, balance, now))
    after = msgspec.structs.replace(account, balance_micros=balance, version=version, trial_expires_at=trial_expires_at)
    return after, postings


def _posting(account: AccountState, entry: Entry, seq: int, balance_after: int, now: datetime) -> Posting:
    return Posting(
        id=new_transaction_id(),
        account_id=account.id,
        user_id=account.user_id,
        seq=seq,
        type=entry.type,
        amount_micros=entry.amount_micros,
        balance_after_micros=balance_after,
        reference=entry.reference,
        description=entry.description,
        metadata=entry.metadata,
        created_at=now,
        expires_at=entry.expires_at,
    )


class Settlement(msgspec.Struct, frozen=True):
    """The outcome of posting a batch: accounts after, their new transactions, in account-id order."""

    accounts: list[AccountState]
    postings: list[Posting]

    def snapshots(self) -> list[BalanceSnapshot]:
        return [BalanceSnapshot(a.user_id, a.balance_micros, a.version) for a in self.accounts]


def settle(accounts: Mapping[str, AccountState], entries: Sequence[tuple[str, Entry]], now: datetime) -> Settlement:
    """Post ``(user_id, entry)`` pairs to the locked accounts, keeping each user's entries in batch order."""
    by_user: dict[str, list[Entry]] = {}
    for user_id, entry in entries:
        by_user.setdefault(user_id, []).append(entry)
    touched, postings = [], []
    for account in sorted((accounts[u] for u in by_user), key=lambda a: a.id):
        after, posted = post(account, by_user[account.user_id], now)
        touched.append(after)
        postings.extend(posted)
    return Settlement(touched, postings)
