"""Ledger math: running balances, sequence numbers, signs, and batch settlement across accounts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tollway.billing.domain.ledger import AccountState, Entry, post, settle

NOW = datetime(2026, 11, 23, tzinfo=UTC)


def usage(amount: int, ref: str) -> Entry:
    return Entry(type="usage", amount_micros=-amount, reference=f"usage:{ref}")


def test_postings_carry_running_balance_and_next_seq() -> None:
    account = AccountState(id="acc_1", user_id="u1", balance_micros=1_000, version=4)
    after, postings = post(account, [usage(300, "a"), Entry(type="grant", amount_micros=50, reference="g")], NOW)
    assert [(p.seq, p.amount_micros, p.balance_after_micros) for p in postings] == [(5, -300, 700), (6, 50, 750)]
    assert (after.balance_micros, after.version) == (750, 6)
    assert postings[0].balance_before_micros == 1_000
    assert {p.user_id for p in postings} == {"u1"}


@pytest.mark.parametrize(
    "entry",
    [
        Entry(type="usage", amount_micros=5, reference="u"),
        Entry(type="grant", amount_micros=-5, reference="g"),
        Entry(type="trial", amount_micros=-1, reference="t"),
        Entry(type="refund", amount_micros=-1, reference="r"),
        Entry(type="expiry", amount_micros=1, reference="e"),
    ],
)
def test_a_wrong_sign_is_a_bug(entry: Entry) -> None:
    with pytest.raises(ValueError, match="must not be"):
        post(AccountState(id="acc_1", user_id="u1"), [entry], NOW)


def test_adjustments_may_go_either_way() -> None:
    account = AccountState(id="acc_1", user_id="u1")
    after, _ = post(account, [Entry(type="adjustment", amount_micros=-7, reference="a")], NOW)
    assert after.balance_micros == -7


def test_trial_sets_and_expiry_clears_the_trial_deadline() -> None:
    expires = NOW + timedelta(days=3)
    trial = Entry(type="trial", amount_micros=5, reference="trial:u1", expires_at=expires)
    after, _ = post(AccountState(id="acc_1", user_id="u1"), [trial], NOW)
    assert after.trial_expires_at == expires
    cleared, _ = post(after, [Entry(type="expiry", amount_micros=0, reference="expiry:x")], NOW)
    assert cleared.trial_expires_at is None


def test_settle_keeps_batch_order_per_user_and_account_id_order_overall() -> None:
    accounts = {
        "ub": AccountState(id="acc_2", user_id="ub", balance_micros=100),
        "ua": AccountState(id="acc_1", user_id="ua", balance_micros=100),
    }
    entries = [("ub", usage(10, "1")), ("ua", usage(20, "2")), ("ub", usage(30, "3"))]
    result = settle(accounts, entries, NOW)
    assert [a.id for a in result.accounts] == ["acc_1", "acc_2"]
    assert [(p.reference, p.balance_after_micros) for p in result.postings] == [
        ("usage:2", 80),
        ("usage:1", 90),
        ("usage:3", 60),
    ]
    assert result.snapshots()[1].version == 2


def test_settle_ignores_accounts_without_entries() -> None:
    result = settle({"u": AccountState(id="acc_1", user_id="u")}, [], NOW)
    assert (result.accounts, result.postings) == ([], [])


@given(st.integers(-(10**12), 10**12), st.lists(st.integers(0, 10**9), max_size=30))
def test_final_balance_is_start_plus_sum_of_amounts(start: int, costs: list[int]) -> None:
    account = AccountState(id="acc_1", user_id="u", balance_micros=start)
    after, postings = post(account, [usage(c, str(i)) for i, c in enumerate(costs)], NOW)
    assert after.balance_micros == start - sum(costs)
    assert after.version == len(postings)
    running = start
    for posting in postings:
        running += posting.amount_micros
        assert posting.balance_after_micros == running
