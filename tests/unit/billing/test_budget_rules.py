"""Per-key budgets in billing's domain: UTC periods, which counters a batch moves, the debit that reaches a limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tollway.billing.domain.budgets import (
    WINDOWS,
    Debit,
    KeyBudget,
    PeriodKey,
    exceeded_event,
    latest_budgets,
    period_bounds,
    period_of,
    reaching_debit,
    spend_by_period,
)
from tollway.contracts import ApiKeyBudgetChangedV1
from tollway.contracts.billing import BudgetWindow

NOON = datetime(2026, 12, 31, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("limit", "before", "amounts", "index"),
    [
        (100, 0, [40, 40, 40], 2),  # the third debit takes the spend from 80 to 120
        (100, 0, [40, 60, 10], 1),  # exactly at the limit counts as reached
        (100, 0, [99], None),
        (100, 99, [1, 1], 0),
        (100, 150, [5], 0),  # already over (the limit was lowered): the first debit after says so
        (0, 0, [1], 0),  # a limit of 0 is reached by any paid request
        (None, 0, [10**9], None),  # no limit in this window
        (100, 0, [], None),
    ],
)
def test_the_debit_that_reaches_a_limit(limit: int | None, before: int, amounts: list[int], index: int | None) -> None:
    assert reaching_debit(limit, before, amounts) == index


@given(
    limit=st.integers(0, 10_000),
    before=st.integers(0, 10_000),
    amounts=st.lists(st.integers(1, 5_000), max_size=30),
)
def test_reaching_is_the_first_prefix_at_or_over_the_limit(limit: int, before: int, amounts: list[int]) -> None:
    index = reaching_debit(limit, before, amounts)
    prefixes = [before + sum(amounts[: i + 1]) for i in range(len(amounts))]
    if index is None:
        assert all(p < limit for p in prefixes)
    else:
        assert prefixes[index] >= limit
        assert all(p < limit for p in prefixes[:index])


@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),  # noqa: DTZ001
    st.sampled_from(WINDOWS),
)
def test_every_instant_lies_in_its_period(at: datetime, window: BudgetWindow) -> None:
    period = period_of(window, at)
    start, end = period_bounds(window, period)
    assert start <= at < end
    assert period_of(window, end) != period
    assert period_of(window, end - timedelta(microseconds=1)) == period


def test_periods_are_utc_calendar_days_and_months() -> None:
    east = timezone(timedelta(hours=5))
    assert period_of("day", datetime(2027, 1, 1, 3, 0, tzinfo=east)) == "20261231"
    assert period_of("month", datetime(2027, 1, 1, 3, 0, tzinfo=east)) == "202612"
    assert period_bounds("month", "202612") == (datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    assert period_bounds("day", "20261231")[1] == datetime(2027, 1, 1, tzinfo=UTC)


def debit(txn: str, amount: int, at: datetime = NOON, key: str = "key_1", user: str = "u1") -> Debit:
    return Debit(api_key_id=key, user_id=user, account_id="acc_1", transaction_id=txn, amount_micros=amount, at=at)


BUDGET = KeyBudget(api_key_id="key_1", user_id="u1", day_limit_micros=100, changed_at=NOON)


def test_a_batch_moves_the_day_and_month_counters_of_budgeted_keys_only() -> None:
    debits = [
        debit("t1", 30),
        debit("t2", 30, NOON + timedelta(hours=13)),  # the next day, the next month too
        debit("t3", 50, key="key_free"),  # no budget: not counted
        debit("t4", 50, user="someone_else"),  # not the key's owner: not counted
    ]
    spends = spend_by_period(debits, {"key_1": BUDGET})
    assert [(s.key, s.added_micros, s.limit_micros) for s in spends] == [
        (PeriodKey("key_1", "day", "20261231"), 30, 100),
        (PeriodKey("key_1", "day", "20270101"), 30, 100),
        (PeriodKey("key_1", "month", "202612"), 30, None),
        (PeriodKey("key_1", "month", "202701"), 30, None),
    ]


def test_the_event_names_the_debit_and_the_spend_that_reached_the_limit() -> None:
    (spend, _) = spend_by_period([debit("t1", 30), debit("t2", 40), debit("t3", 50)], {"key_1": BUDGET})
    event = exceeded_event(spend, spent_before=30)
    assert event is not None
    assert (event.window, event.period, event.limit_micros) == ("day", "20261231", 100)
    assert (event.transaction_id, event.spent_micros) == ("t2", 30 + 30 + 40)
    assert (event.api_key_id, event.account_id, event.user_id) == ("key_1", "acc_1", "u1")
    assert exceeded_event(spend, spent_before=0) is not None  # 120 in the batch alone
    (small, _) = spend_by_period([debit("t1", 30)], {"key_1": BUDGET})
    assert exceeded_event(small, spent_before=0) is None


def test_the_latest_announcement_of_a_key_wins() -> None:
    def changed(day: int | None, minutes: int) -> ApiKeyBudgetChangedV1:
        at = NOON + timedelta(minutes=minutes)
        return ApiKeyBudgetChangedV1(api_key_id="key_1", user_id="u1", spend_limit_day_micros=day, occurred_at=at)

    (budget,) = latest_budgets([changed(500, 2), changed(100, 1), changed(None, 0)])
    assert budget.day_limit_micros == 500
    assert budget.limit("month") is None
