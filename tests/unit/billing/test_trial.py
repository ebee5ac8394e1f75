"""Trial credit: usage spends it first; what is left expires, never taking a balance below zero."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tollway.billing.domain.trial import expiry_entry, trial_entry, unused_trial_micros

NOW = datetime(2026, 11, 23, tzinfo=UTC)


def test_trial_entry_is_valid_for_the_configured_days() -> None:
    entry = trial_entry("u1", 5_000_000, 3, NOW)
    assert (entry.type, entry.amount_micros, entry.reference) == ("trial", 5_000_000, "trial:u1")
    assert entry.expires_at == NOW + timedelta(days=3)


@pytest.mark.parametrize(
    ("trial", "used", "balance", "expired"),
    [
        (5_000_000, 0, 5_000_000, 5_000_000),  # untouched trial
        (5_000_000, 3_000_000, 2_000_000, 2_000_000),
        (5_000_000, 3_000_000, 12_000_000, 2_000_000),  # paid credit stays
        (5_000_000, 7_000_000, 8_000_000, 0),  # trial fully spent
        (5_000_000, 0, 1_000_000, 1_000_000),  # usage before the trial was granted: never below zero
        (5_000_000, 0, -50, 0),
    ],
)
def test_unused_trial(trial: int, used: int, balance: int, expired: int) -> None:
    assert unused_trial_micros(trial, used, balance) == expired


@given(st.integers(0, 10**9), st.integers(0, 10**9), st.integers(-(10**9), 10**9))
def test_expiry_is_bounded_by_trial_and_balance(trial: int, used: int, balance: int) -> None:
    expired = unused_trial_micros(trial, used, balance)
    assert 0 <= expired <= trial
    assert balance - expired >= min(balance, 0)


def test_expiry_entry_refers_to_its_trial() -> None:
    entry = expiry_entry("txn_1", 42, NOW)
    assert (entry.type, entry.amount_micros, entry.reference) == ("expiry", -42, "expiry:txn_1")
