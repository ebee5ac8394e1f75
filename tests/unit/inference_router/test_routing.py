"""Attempt plans for both strategies and unavailable sets, outcome classification, Retry-After parsing."""

from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from tollway.inference_router.domain.catalog import Deployment, Model, Prices, Provider
from tollway.inference_router.domain.routing import (
    Outcome,
    OutcomeKind,
    classify_status,
    cooling_down_wait,
    final_failure_status,
    outcome_for_status,
    parse_retry_after,
    plan_attempts,
    retry_after_header,
)

PROVIDERS = {
    "a": Provider(id="a", kind="openai_compatible", base_url="http://a"),
    "b": Provider(id="b", kind="anthropic", base_url="http://b"),
    "c": Provider(id="c", kind="openai_compatible", base_url="http://c"),
}
MODEL = Model(
    id="m",
    context_window=10,
    max_output_tokens=5,
    deployments=(
        Deployment(provider="a", upstream_model="x"),
        Deployment(provider="b", upstream_model="y"),
        Deployment(provider="c", upstream_model="z"),
    ),
    prices=Prices(input=1, output=1, cache_read=1, cache_write=1),
)


def keys(plan_attempts_result: object) -> list[tuple[str, int, bool]]:
    return [
        (attempt.deployment.key, attempt.position, attempt.is_fallback)
        for attempt in plan_attempts_result.attempts  # type: ignore[attr-defined]
    ]


def test_primary_first_is_the_ordered_chain() -> None:
    plan = plan_attempts(MODEL, PROVIDERS, strategy="primary_first", unavailable=set())
    assert keys(plan) == [("a/x", 0, False), ("b/y", 1, True), ("c/z", 2, True)]
    assert plan.attempts[1].provider is PROVIDERS["b"]
    assert plan.skipped == ()


def test_fallback_only_skips_the_first_deployment() -> None:
    plan = plan_attempts(MODEL, PROVIDERS, strategy="fallback_only", unavailable=set())
    assert keys(plan) == [("b/y", 1, True), ("c/z", 2, True)]


def test_unavailable_deployments_are_skipped_primary_included() -> None:
    plan = plan_attempts(MODEL, PROVIDERS, strategy="primary_first", unavailable={"a/x", "c/z"})
    assert keys(plan) == [("b/y", 1, True)]
    assert [d.key for d in plan.skipped] == ["a/x", "c/z"]


def test_fallback_only_with_fallbacks_unavailable_is_empty() -> None:
    plan = plan_attempts(MODEL, PROVIDERS, strategy="fallback_only", unavailable={"b/y", "c/z", "a/x"})
    assert plan.attempts == ()
    assert [d.key for d in plan.skipped] == ["b/y", "c/z"]


def test_single_deployment_model_with_fallback_only_has_no_plan() -> None:
    single = Model(
        id="s", context_window=1, max_output_tokens=1, deployments=MODEL.deployments[:1], prices=MODEL.prices
    )
    assert plan_attempts(single, PROVIDERS, strategy="fallback_only", unavailable=set()).attempts == ()


@pytest.mark.parametrize(
    ("status", "kind", "try_next", "signal"),
    [
        (200, "success", False, "success"),
        (400, "client_error", False, "success"),
        (413, "client_error", False, "success"),
        (422, "client_error", False, "success"),
        (409, "client_error", False, "success"),
        (401, "provider_error", True, "failure"),
        (403, "provider_error", True, "failure"),
        (404, "provider_error", True, "failure"),
        (408, "timeout", True, "failure"),
        (429, "rate_limited", True, "rate_limited"),
        (500, "provider_error", True, "failure"),
        (502, "provider_error", True, "failure"),
        (503, "provider_error", True, "failure"),
        (504, "provider_error", True, "failure"),
        (529, "provider_error", True, "failure"),
    ],
)
def test_status_classification(status: int, kind: OutcomeKind, try_next: bool, signal: str) -> None:
    assert classify_status(status) == kind
    outcome = outcome_for_status(status)
    assert (outcome.try_next, outcome.breaker_signal, outcome.status) == (try_next, signal, status)


@pytest.mark.parametrize("kind", ["timeout", "connect_error"])
def test_transport_failures_move_on(kind: OutcomeKind) -> None:
    outcome = Outcome(kind=kind)
    assert (outcome.try_next, outcome.breaker_signal) == (True, "failure")


NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        (format_datetime(datetime(2026, 1, 1, 12, 0, 30, tzinfo=UTC), usegmt=True), 30.0),
        ("Thu, 01 Jan 2026 12:01:00 -0000", 60.0),
        ("Thu, 01 Jan 2026 11:00:00 GMT", 0.0),  # in the past: retry now
        ("-5", None),
        ("1.5", 1.5),
        ("1e999", None),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == seconds


def test_outcome_carries_retry_after() -> None:
    assert outcome_for_status(429, retry_after="7", now=NOW) == Outcome(
        kind="rate_limited", status=429, retry_after=7.0
    )


@pytest.mark.parametrize(
    ("kinds", "status"),
    [
        ([], 503),
        (["rate_limited", "rate_limited"], 429),
        (["timeout"], 504),
        (["timeout", "rate_limited"], 502),
        (["provider_error", "connect_error"], 502),
    ],
)
def test_final_failure_status(kinds: list[OutcomeKind], status: int) -> None:
    assert final_failure_status(Outcome(kind=kind) for kind in kinds) == status


@pytest.mark.parametrize(
    ("skipped", "cooling", "wait"),
    [
        (["a/x", "b/y"], {"a/x": 12.5, "b/y": 3.2}, 3.2),  # every one cooling: the shortest wait
        (["a/x", "b/y"], {"a/x": 12.5}, None),  # b/y is left out by its open breaker: no provider now
        ([], {}, None),  # nothing was skipped (no deployment for this strategy)
    ],
)
def test_a_route_is_rate_limited_only_while_every_skipped_deployment_cools_down(
    skipped: list[str], cooling: dict[str, float], wait: float | None
) -> None:
    assert cooling_down_wait(skipped, cooling) == wait


@pytest.mark.parametrize(("seconds", "header"), [(3.2, "4"), (20.0, "20"), (0.01, "1"), (0.0, "1")])
def test_retry_after_is_rounded_up_and_at_least_one_second(seconds: float, header: str) -> None:
    assert retry_after_header(seconds) == header
