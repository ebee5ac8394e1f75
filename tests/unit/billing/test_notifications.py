"""Each posting publishes its credit event; a downward crossing of the thresholds publishes an alert once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tollway.billing.domain.ledger import AccountState, Entry, post
from tollway.billing.domain.notifications import crossed_exhausted, crossed_low, events_for
from tollway.contracts import BalanceExhaustedV1, BalanceLowV1, CreditDebitedV1, CreditDeductedV1, CreditGrantedV1

NOW = datetime(2026, 11, 23, tzinfo=UTC)
THRESHOLD = 1_000_000


@pytest.mark.parametrize(
    ("before", "after", "low", "exhausted"),
    [
        (1_000_000, 999_999, True, False),
        (1_500_000, 0, True, True),
        (999_999, 500_000, False, False),  # already below: no second alert
        (1, 0, False, True),
        (0, -5, False, False),  # already exhausted
        (500, 2_000_000, False, False),  # going up never alerts
        (1_000_000, 1_000_000, False, False),
    ],
)
def test_crossings(before: int, after: int, low: bool, exhausted: bool) -> None:
    assert crossed_low(before, after, THRESHOLD) is low
    assert crossed_exhausted(before, after) is exhausted


def events(balance: int, *entries: Entry) -> list[object]:
    _, postings = post(AccountState(id="acc_1", user_id="u1", balance_micros=balance), entries, NOW)
    return list(events_for(postings, THRESHOLD))


def test_a_debit_crossing_both_thresholds_publishes_debit_low_and_exhausted() -> None:
    usage = Entry(type="usage", amount_micros=-2_000_000, reference="usage:r1", metadata={"request_id": "r1"})
    debited, low, exhausted = events(1_500_000, usage)
    assert isinstance(debited, CreditDebitedV1)
    assert (debited.request_id, debited.amount_micros, debited.balance_after_micros) == ("r1", -2_000_000, -500_000)
    assert debited.account_seq == 1
    assert isinstance(low, BalanceLowV1)
    assert low.threshold_micros == THRESHOLD
    assert isinstance(exhausted, BalanceExhaustedV1)
    assert exhausted.balance_micros == -500_000


def test_grants_and_deductions_have_their_own_events() -> None:
    granted, deducted = events(
        5_000_000,
        Entry(type="trial", amount_micros=5, reference="trial:u1"),
        Entry(type="expiry", amount_micros=-5, reference="expiry:t"),
    )
    assert isinstance(granted, CreditGrantedV1)
    assert (granted.kind, granted.reference) == ("trial", "trial:u1")
    assert isinstance(deducted, CreditDeductedV1)
    assert (deducted.kind, deducted.amount_micros, deducted.account_seq) == ("expiry", -5, 2)


def test_a_zero_posting_publishes_nothing() -> None:
    assert events(0, Entry(type="expiry", amount_micros=0, reference="expiry:t")) == []
