"""Trial credit: granted once per user, valid for a few days; what is left of it then expires."""

from __future__ import annotations

from datetime import datetime, timedelta

from tollway.billing.domain.ledger import Entry


def trial_reference(user_id: str) -> str:
    return f"trial:{user_id}"


def expiry_reference(trial_transaction_id: str) -> str:
    return f"expiry:{trial_transaction_id}"


def trial_entry(user_id: str, amount_micros: int, days: int, now: datetime) -> Entry:
    """The trial grant; validity counts from when billing grants it, so a late event never shortens it."""
    return Entry(
        type="trial",
        amount_micros=amount_micros,
        reference=trial_reference(user_id),
        description=f"trial credit, valid {days} days",
        expires_at=now + timedelta(days=days),
    )


def unused_trial_micros(trial_micros: int, usage_before_expiry_micros: int, balance_micros: int) -> int:
    """What expires: usage spends trial credit first, and expiry never takes a balance below zero."""
    unspent = max(0, trial_micros - usage_before_expiry_micros)
    return max(0, min(unspent, balance_micros))


def expiry_entry(trial_transaction_id: str, amount_micros: int, expired_at: datetime) -> Entry:
    """The (possibly zero) expiry; a zero one still records that this trial was settled."""
    return Entry(
        type="expiry",
        amount_micros=-amount_micros,
        reference=expiry_reference(trial_transaction_id),
        description="unused trial credit expired",
        metadata={"trial_transaction_id": trial_transaction_id, "expired_at": expired_at.isoformat()},
    )
