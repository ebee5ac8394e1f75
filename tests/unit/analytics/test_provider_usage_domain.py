"""Provider usage in the domain: merged per key, amounts in micros, import chunks, drift at the ±2 % edge."""

from __future__ import annotations

from datetime import date

from tollway.analytics.domain.provider_usage import (
    ProviderUsage,
    drift_event_id,
    merged,
    micros,
    reconcile,
    windows,
)

DAY = date(2026, 11, 1)


def usage(model: str = "m", cost: int = 0, **tokens: int) -> ProviderUsage:
    return ProviderUsage(provider="p", model=model, day=DAY, cost_micros=cost, **tokens)


def test_rows_of_one_key_are_summed_and_costs_joined() -> None:
    rows = merged([usage(input_tokens=1), usage(input_tokens=2, output_tokens=3)], [(("p", "m", DAY), 7)])
    assert rows == [usage(cost=7, input_tokens=3, output_tokens=3)]
    assert merged([], [(("p", "other", DAY), 5)]) == [usage("other", 5)]


def test_amounts_become_integer_micros() -> None:
    assert micros("123.45", 10_000) == 1_234_500  # Anthropic: cents
    assert micros(0.1, 1_000_000) == 100_000  # OpenAI: dollars, a float on the wire
    assert micros("0.0000005", 1_000_000) == 0  # half to even


def test_windows_cover_the_days_in_chunks() -> None:
    assert windows(date(2026, 11, 1), date(2026, 11, 9), 7) == [
        (date(2026, 11, 1), date(2026, 11, 7)),
        (date(2026, 11, 8), date(2026, 11, 9)),
    ]
    assert windows(date(2026, 11, 2), date(2026, 11, 1), 7) == []


def test_drift_beyond_two_percent_either_way_and_missing_records() -> None:
    recorded = {("p", "a", DAY): 1_000_000, ("p", "b", DAY): 1_000_000, ("p", "c", DAY): 1_000_000}
    recorded |= {("q", "x", DAY): 5}  # a provider that reported nothing is not reconciled
    reported = [usage("a", 1_020_000), usage("b", 979_999), usage("d", 10)]
    lines = {line.model: line for line in reconcile(reported, recorded)}
    assert sorted(lines) == ["a", "b", "c", "d"]
    assert (lines["a"].drift_bps, lines["a"].drifted) == (200, False)  # exactly 2 %: within
    assert (lines["b"].drift_bps, lines["b"].drifted) == (-200, True)
    assert (lines["c"].provider_cost_micros, lines["c"].drift_bps, lines["c"].drifted) == (0, -10_000, True)
    assert (lines["d"].drift_bps, lines["d"].drifted) == (None, True)
    assert drift_event_id(lines["b"]) == drift_event_id(reconcile(reported, recorded)[1])
    assert drift_event_id(lines["b"]) != drift_event_id(lines["c"])
