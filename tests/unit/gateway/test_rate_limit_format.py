"""Window construction, override precedence and the OpenAI-style reset / Retry-After formats."""

from __future__ import annotations

import pytest

from tollway.gateway.domain.ratelimits import (
    Kind,
    LimitOverride,
    Limits,
    Periods,
    go_duration,
    retry_after_headers,
    windows_for,
)


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (0, "0ms"),
        (17, "17ms"),
        (999, "999ms"),
        (1000, "1s"),
        (1500, "1.5s"),
        (59_726, "59.726s"),
        (360_000, "6m0s"),
        (61_000, "1m1s"),
        (3_723_500, "1h2m3.5s"),
        (86_400_000, "24h0m0s"),
        (-5, "0ms"),
    ],
)
def test_reset_durations_read_like_openai_s(ms: int, text: str) -> None:
    assert go_duration(ms) == text


@pytest.mark.parametrize(("ms", "seconds"), [(1, "1"), (999, "1"), (1000, "1"), (1001, "2"), (0, "1"), (61_500, "62")])
def test_retry_after_is_whole_seconds_rounded_up_and_at_least_one(ms: int, seconds: str) -> None:
    headers = retry_after_headers(ms)
    assert headers["retry-after"] == seconds
    assert int(headers["retry-after-ms"]) == max(1, ms)


def test_an_override_replaces_only_the_dimensions_it_sets() -> None:
    defaults = Limits(rpm=60, tpm=100_000, rpd=1000)
    assert LimitOverride(rpm=5).over(defaults) == Limits(rpm=5, tpm=100_000, rpd=1000)
    assert LimitOverride(tpm=0).over(defaults) == Limits(rpm=60, tpm=0, rpd=1000)  # 0 lifts the limit
    assert LimitOverride().over(defaults) == defaults


def test_windows_leave_out_unlimited_dimensions_and_charge_tokens_to_tpm_only() -> None:
    windows = windows_for("user", Limits(rpm=10, tpm=0, rpd=100), 700, Periods(minute_ms=1000, day_ms=5000))
    assert [(w.name, w.kind, w.limit, w.period_ms, w.cost) for w in windows] == [
        ("rpm", Kind.REQUESTS, 10, 1000, 1),
        ("rpd", Kind.REQUESTS, 100, 5000, 1),
    ]
    assert windows_for("user", Limits(), 5, Periods()) == []
