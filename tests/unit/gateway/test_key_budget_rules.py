"""Per-key budget rules and balance-alert mail: pure functions, no infrastructure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from tollway.contracts import BalanceExhaustedV1, BalanceLowV1
from tollway.gateway.domain.admission import (
    AdmissionPlan,
    Budget,
    Decision,
    Outcome,
    budget_periods,
    key_budgets,
    refusal,
)
from tollway.gateway.domain.balance_mail import balance_mail
from tollway.gateway.domain.identity import Identity
from tollway.gateway.domain.rejections import KeyBudgetExceededError

AT = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)


def identity(day: int | None, month: int | None) -> Identity:
    return Identity(
        user_id="usr_1",
        api_key_id="key_1",
        routing_strategy="default",
        is_active=True,
        spend_limit_day_micros=day,
        spend_limit_month_micros=month,
    )


def test_periods_are_the_utc_calendar_day_and_month() -> None:
    assert budget_periods(AT) == {"day": "20261231", "month": "202612"}
    east = AT.astimezone(timezone(timedelta(hours=5)))  # already 1 January there: the budget still says UTC
    assert budget_periods(east) == {"day": "20261231", "month": "202612"}


def test_only_set_limits_become_budgets_and_zero_is_a_limit() -> None:
    assert key_budgets(identity(None, None), AT) == ()
    assert key_budgets(identity(0, None), AT) == (Budget(window="day", period="20261231", limit_micros=0),)
    assert [b.window for b in key_budgets(identity(5, 9), AT)] == ["day", "month"]


def test_a_budget_refusal_is_a_402_naming_the_window() -> None:
    budgets = key_budgets(identity(5_000, 90_000), AT)
    plan = AdmissionPlan(
        request_id="r",
        account="usr_1",
        windows=(),
        hold_micros=1_200,
        balance_micros=10**9,
        reserved_tokens=10,
        api_key_id="key_1",
        budgets=budgets,
    )
    error = refusal(plan, Decision(outcome=Outcome.OVER_BUDGET, blocking=1, available_micros=300))
    assert isinstance(error, KeyBudgetExceededError)
    assert (error.status, error.code, error.param) == (402, "key_budget_exceeded", "spend_limit_month_micros")
    assert "monthly spend limit of $0.090000" in error.message
    assert "up to $0.001200 and $0.000300 of the limit is left" in error.message


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_the_mail_never_rounds_a_nonzero_balance_to_zero(balance: int) -> None:
    mail = balance_mail(BalanceExhaustedV1(account_id="a", user_id="u", balance_micros=balance), "a@b.c", "http://x")
    if balance != 0:
        assert "$0.00:" not in mail.body


def test_low_balance_mail_names_the_balance_the_threshold_and_the_credits_page() -> None:
    alert = BalanceLowV1(account_id="a", user_id="u", balance_micros=420_000, threshold_micros=1_000_000)
    mail = balance_mail(alert, "ada@example.com", "https://gw.example/")
    assert (mail.recipient, mail.subject) == ("ada@example.com", "Your Tollway balance is low")
    assert "$0.42, below $1.00" in mail.body
    assert "https://gw.example/console/#/credits" in mail.body
