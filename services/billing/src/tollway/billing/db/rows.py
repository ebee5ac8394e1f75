"""Mapping between ledger rows and domain Structs (one place, so every query returns the same shapes)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row

from tollway.billing.db.tables import accounts, transactions
from tollway.billing.domain.ledger import AccountState, Posting

t, a = transactions.c, accounts.c
ACCOUNT_COLUMNS = (a.id, a.user_id, a.balance_micros, a.version, a.trial_expires_at)
POSTING_COLUMNS = (
    t.id,
    t.account_id,
    a.user_id,
    t.seq,
    t.type,
    t.amount_micros,
    t.balance_after_micros,
    t.reference,
    t.description,
    t.metadata,
    t.created_at,
    t.expires_at,
)


def account_of(row: Row[*tuple[Any, ...]]) -> AccountState:
    return AccountState(
        id=row.id,
        user_id=row.user_id,
        balance_micros=row.balance_micros,
        version=row.version,
        trial_expires_at=row.trial_expires_at,
    )


def posting_of(row: Row[*tuple[Any, ...]]) -> Posting:
    return Posting(
        id=row.id,
        account_id=row.account_id,
        user_id=row.user_id,
        seq=row.seq,
        type=row.type,
        amount_micros=row.amount_micros,
        balance_after_micros=row.balance_after_micros,
        reference=row.reference,
        description=row.description,
        metadata=row.metadata,
        created_at=row.created_at,
        expires_at=row.expires_at,
    )
