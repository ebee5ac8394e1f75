"""Admission math: token estimates, holds as upper bounds, windows per subject, refusals, settlement, headers."""

from __future__ import annotations

import pytest

from tollway.contracts.internal_api import ModelOut, PricesOut
from tollway.gateway.domain.admission import (
    AdmissionPlan,
    Admitted,
    ChatCall,
    Decision,
    Outcome,
    WindowState,
    cost_micros,
    output_token_cap,
    plan_admission,
    prompt_token_estimate,
    rate_limit_headers,
    refusal,
    settlement,
)
from tollway.gateway.domain.identity import Identity
from tollway.gateway.domain.ratelimits import Limits, Periods
from tollway.gateway.domain.rejections import (
    AnonymousNotAllowedError,
    InsufficientCreditError,
    RateLimitedError,
    TokensExceedLimitError,
)
from tollway.gateway.domain.usage import Usage

PRICES = PricesOut(input=3_000_000, output=15_000_000, cache_read=300_000, cache_write=3_750_000)
MODEL = ModelOut(id="m", context_window=200_000, max_output_tokens=8192, prices=PRICES)
IDENTITY = Identity(user_id="usr_1", api_key_id="key_1", routing_strategy="primary_first", is_active=True)


def call(body: bytes = b"x" * 400, identity: Identity | None = IDENTITY) -> ChatCall:
    return ChatCall(request_id="req_1", api="openai", body=body, identity=identity, client="abc")


def plan_for(output_cap: int | None = 100, **limits: int) -> AdmissionPlan:
    subjects = [("key:key_1", Limits(**limits)), ("user", Limits(**limits))]
    return plan_admission(
        call(), output_cap=output_cap, model=MODEL, subjects=subjects, periods=Periods(), balance_micros=5
    )


def test_prompt_estimate_rounds_up_a_quarter_of_the_body() -> None:
    assert [prompt_token_estimate(n) for n in (0, 1, 4, 5, 400)] == [0, 1, 1, 2, 100]


def test_output_cap_is_the_request_s_never_above_the_model_s() -> None:
    assert (output_token_cap(None, MODEL), output_token_cap(100, MODEL), output_token_cap(10**6, MODEL)) == (
        8192,
        100,
        8192,
    )


def test_cost_prices_every_prompt_token_at_its_dearest_rate_and_rounds_up_once() -> None:
    # 100 prompt tokens at the cache-write price (3.75 USD/M) + 100 output at 15 USD/M = 375 + 1500 micro-USD
    assert cost_micros(100, 100, PRICES) == 1875
    assert cost_micros(1, 0, PricesOut(input=1, output=1, cache_read=0, cache_write=0)) == 1  # 1e-6 micro-USD rounds up
    assert cost_micros(0, 0, PRICES) == 0


def test_a_keyed_plan_has_key_and_user_windows_and_a_hold() -> None:
    plan = plan_for(rpm=60, tpm=10_000)
    assert plan.account == "usr_1"
    assert [(w.scope, w.name, w.cost) for w in plan.windows] == [
        ("key:key_1", "rpm", 1),
        ("key:key_1", "tpm", 200),
        ("user", "rpm", 1),
        ("user", "tpm", 200),
    ]
    assert plan.reserved_tokens == 200
    assert plan.hold_micros == cost_micros(100, 100, PRICES)
    assert plan.balance_micros == 5


def test_unlimited_dimensions_add_no_window_and_no_cap_holds_the_model_maximum() -> None:
    plan = plan_for(output_cap=None)
    assert plan.windows == ()
    assert plan.hold_micros == cost_micros(100, 8192, PRICES)


def test_anonymous_plans_have_no_hold_and_need_an_open_model() -> None:
    subjects = [("ip", Limits(rpm=5))]
    with pytest.raises(AnonymousNotAllowedError):
        plan_admission(
            call(identity=None), output_cap=1, model=MODEL, subjects=subjects, periods=Periods(), balance_micros=0
        )
    open_model = ModelOut(id="free", context_window=10, max_output_tokens=10, anonymous_allowed=True, prices=PRICES)
    plan = plan_admission(
        call(identity=None), output_cap=1, model=open_model, subjects=subjects, periods=Periods(), balance_micros=0
    )
    assert (plan.account, plan.hold_micros, plan.windows[0].scope) == ("anon:abc", None, "ip")


def test_refusals_carry_the_right_error_and_headers() -> None:
    plan = plan_for(rpm=60, tpm=10_000)
    states = (WindowState(0, 1500), WindowState(9000, 6000), WindowState(10, 61_000), WindowState(9800, 600))
    limited = refusal(plan, Decision(outcome=Outcome.RATE_LIMITED, blocking=0, retry_after_ms=1500, states=states))
    broke = refusal(plan, Decision(outcome=Outcome.NO_CREDIT, available_micros=1234, states=states))
    too_big = refusal(plan, Decision(outcome=Outcome.TOO_LARGE, blocking=1, states=states))

    assert isinstance(limited, RateLimitedError)
    assert (
        limited.message
        == "Rate limit reached for requests per minute (RPM) on this API key: limit 60. Please try again in 1.5s."
    )
    assert limited.headers["retry-after"] == "2"
    assert limited.headers["retry-after-ms"] == "1500"
    assert limited.headers["x-ratelimit-remaining-requests"] == "0"
    assert isinstance(broke, InsufficientCreditError)
    assert "$0.001234 is available" in broke.message
    assert "retry-after" not in broke.headers
    assert isinstance(too_big, TokensExceedLimitError)
    assert too_big.param == "max_tokens"


def test_headers_report_the_tightest_window_of_each_kind() -> None:
    plan = plan_for(rpm=60, tpm=10_000)
    states = (WindowState(59, 1000), WindowState(9800, 1200), WindowState(12, 55_000), WindowState(9000, 6000))
    headers = rate_limit_headers(plan, Decision(outcome=Outcome.ADMITTED, states=states))
    assert headers == {
        "x-ratelimit-limit-requests": "60",
        "x-ratelimit-remaining-requests": "12",
        "x-ratelimit-reset-requests": "55s",
        "x-ratelimit-limit-tokens": "10000",
        "x-ratelimit-remaining-tokens": "9000",
        "x-ratelimit-reset-tokens": "6s",
    }
    assert rate_limit_headers(plan, Decision(outcome=Outcome.ADMITTED, degraded=True)) == {}


def _admitted(plan: AdmissionPlan) -> Admitted:
    decision = Decision(outcome=Outcome.ADMITTED)
    return Admitted(call=call(), model=MODEL, stream=False, plan=plan, decision=decision, headers={})


def test_settlement_prices_known_usage_keeps_unknown_and_refunds_failures() -> None:
    admitted = _admitted(plan_for(tpm=10_000))
    assert settlement(admitted, 200, Usage(50, 20)) == (cost_micros(50, 20, PRICES), 70 - 200)
    assert settlement(admitted, 200, None) == (admitted.plan.hold_micros, None)
    assert settlement(admitted, 503, None) == (0, -200)
    assert settlement(admitted, 0, None) == (0, -200)


def test_settlement_of_an_anonymous_call_touches_no_credit() -> None:
    plan = AdmissionPlan(
        request_id="r", account="anon:x", windows=(), hold_micros=None, balance_micros=0, reserved_tokens=9
    )
    assert settlement(_admitted(plan), 200, Usage(3, 3)) == (None, -3)
