"""Classification (seed 004 rows 97-101) and the incident rules, without I/O."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tollway.error_monitor.domain.classification import classify
from tollway.error_monitor.domain.incidents import (
    Attempt,
    IncidentRules,
    LogLine,
    ProviderHealth,
    analysed,
    has_recovered,
    unhealthy_reason,
)
from tollway.error_monitor.domain.views import statistics

T0 = datetime(2026, 12, 3, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    ("message", "provider", "category", "impact", "fixable"),
    [
        ("upstream timeout 504", "openai", "PROVIDER_ERROR", "high", False),
        ("anthropic answered 401", None, "AUTH_ERROR", "high", True),
        ("bedrock returned garbage", None, "PROVIDER_ERROR", "medium", False),
        ("asyncpg: too many connections in the connection pool", None, "DATABASE_ERROR", "critical", True),
        ("429 Too Many Requests", None, "RATE_LIMIT_ERROR", "medium", True),
        ("invalid api key presented", None, "AUTH_ERROR", "high", True),
        ("deadline exceeded calling the ledger", None, "TIMEOUT_ERROR", "medium", True),
        ("validation failed for field x", None, "VALIDATION_ERROR", "low", False),
        ("redis connection reset", None, "CACHE_ERROR", "medium", True),
        ("smtp relay refused the message", None, "EXTERNAL_SERVICE_ERROR", "high", False),
        ("something else broke", None, "INTERNAL_ERROR", "medium", False),
    ],
)
def test_rules_apply_in_the_documented_order(
    message: str, provider: str | None, category: str, impact: str, fixable: bool
) -> None:
    found = classify(message, "", provider)
    assert (found.category, found.impact, found.fixable) == (category, impact, fixable)
    assert (found.suggested_fix is not None) == fixable


def test_words_match_whole_not_inside_other_words() -> None:
    assert classify("cacheless widget", "").category == "INTERNAL_ERROR"  # "cache" only as a word


def _health(outcomes: str, window: tuple[int, int] = (0, 0)) -> ProviderHealth:
    health = ProviderHealth(provider="p", window_attempts=window[0], window_failures=window[1])
    for outcome in outcomes:
        health.record(Attempt(occurred_at=T0, provider="p", ok=outcome == "+"))
    return health


def test_a_provider_is_unhealthy_after_five_failures_in_a_row_or_half_of_its_window() -> None:
    rules = IncidentRules()
    assert unhealthy_reason(_health("+----"), rules) is None
    assert unhealthy_reason(_health("+-----"), rules) == "5 failed attempts in a row"
    assert unhealthy_reason(_health("-+-+", window=(12, 6)), rules) == "6 of 12 attempts failed in 5 min"
    assert unhealthy_reason(_health("-+-+", window=(9, 9)), rules) is None  # too few attempts to judge


def test_recovery_needs_three_successes_in_a_row() -> None:
    assert not has_recovered(_health("---++"), IncidentRules())
    assert has_recovered(_health("---+++"), IncidentRules())


def test_analysis_counts_levels_and_the_top_messages() -> None:
    line = LogLine(timestamp=T0, level="error", service="s", kind="k", category="PROVIDER_ERROR", message="x" * 300)
    other = LogLine(timestamp=T0, level="warning", service="s", kind="k2", category="UNKNOWN", message="y")
    found = analysed([line, line, other])
    assert (found.total, found.error_count, found.warning_count) == (3, 2, 1)
    assert found.top_errors == [("x" * 200, 2), ("y", 1)]
    assert found.by_kind == {"k": 2, "k2": 1}


def test_statistics_count_ongoing_downtime_until_now() -> None:
    assert statistics([], T0).average_duration_seconds == 0
