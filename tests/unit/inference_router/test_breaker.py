"""The circuit breaker state machine through every transition, driven by an explicit clock."""

import msgspec

from tollway.inference_router.domain.breaker import BreakerConfig, BreakerState, CircuitBreaker

CONFIG = BreakerConfig(
    failure_threshold=3,
    failure_window=10.0,
    rate_limit_threshold=2,
    rate_limit_window=10.0,
    open_seconds=30.0,
    max_open_seconds=100.0,
    half_open_probes=2,
)
BREAKER = CircuitBreaker(CONFIG)
CLOSED = BreakerState()


def fail(state: BreakerState, *times: float) -> BreakerState:
    for now in times:
        state = BREAKER.record(state, "failure", now)
    return state


def opened_at(now: float) -> BreakerState:
    return fail(CLOSED, now - 2, now - 1, now)


def half_open_at(now: float) -> BreakerState:
    return BREAKER.current(opened_at(now - 30), now)


def test_closed_allows_and_counts_failures_below_the_threshold() -> None:
    allowed, state = BREAKER.acquire(CLOSED, 0)
    assert allowed
    assert state == CLOSED
    state = fail(CLOSED, 0, 1)
    assert (state.phase, state.failures, state.failures_since) == ("closed", 2, 0)


def test_success_resets_the_consecutive_counts() -> None:
    state = BREAKER.record(fail(CLOSED, 0, 1), "rate_limited", 2)
    state = BREAKER.record(state, "success", 3)
    assert (state.phase, state.failures, state.rate_limits) == ("closed", 0, 0)


def test_closed_to_open_after_n_consecutive_failures_in_the_window() -> None:
    state = fail(CLOSED, 0, 1, 2)
    assert state == BreakerState(phase="open", open_until=32.0)
    assert BREAKER.acquire(state, 10) == (False, state)


def test_failures_outside_the_window_start_a_new_count() -> None:
    state = fail(CLOSED, 0, 1, 20)
    assert (state.phase, state.failures, state.failures_since) == ("closed", 1, 20)


def test_rate_limits_have_their_own_threshold_and_honour_retry_after() -> None:
    state = fail(CLOSED, 0, 1)
    state = BREAKER.record(state, "rate_limited", 2)
    assert (state.phase, state.failures, state.rate_limits) == ("closed", 2, 1)
    state = BREAKER.record(state, "rate_limited", 3, retry_after=90.0)
    assert state == BreakerState(phase="open", open_until=93.0)


def test_rate_limits_outside_their_window_start_over() -> None:
    state = BREAKER.record(BREAKER.record(CLOSED, "rate_limited", 0), "rate_limited", 11)
    assert (state.phase, state.rate_limits, state.rate_limits_since) == ("closed", 1, 11)


def test_results_arriving_while_open_are_ignored() -> None:
    state = opened_at(0)
    assert BREAKER.record(state, "failure", 5) == state
    assert BREAKER.record(state, "success", 5) == state
    assert BREAKER.record(state, "rate_limited", 5) == state


def test_open_to_half_open_after_the_interval() -> None:
    state = BREAKER.current(opened_at(0), 30)
    assert state == BreakerState(phase="half_open", open_until=30, half_open_since=30)


def test_half_open_lets_k_probes_through() -> None:
    state = half_open_at(30)
    first, state = BREAKER.acquire(state, 30)
    second, state = BREAKER.acquire(state, 31)
    third, state = BREAKER.acquire(state, 32)
    assert (first, second, third) == (True, True, False)
    assert state.probes == 2


def test_half_open_closes_after_k_successes() -> None:
    state = half_open_at(30)
    state = BREAKER.record(state, "success", 31)
    assert (state.phase, state.probe_successes) == ("half_open", 1)
    assert BREAKER.record(state, "success", 32) == CLOSED


def test_probe_failure_reopens_with_a_doubling_capped_interval() -> None:
    state = BREAKER.record(half_open_at(30), "failure", 31)
    assert state == BreakerState(phase="open", open_until=91.0, reopens=1)
    state = BREAKER.record(BREAKER.current(state, 91), "failure", 92)
    assert state == BreakerState(phase="open", open_until=192.0, reopens=2)  # 120 s capped at 100
    state = BREAKER.record(BREAKER.current(state, 192), "success", 193)
    state = BREAKER.record(state, "success", 194)
    assert state == CLOSED  # closing forgets the back-off


def test_probe_rate_limit_reopens_too() -> None:
    state = BREAKER.record(half_open_at(30), "rate_limited", 31, retry_after=200.0)
    assert state == BreakerState(phase="open", open_until=231.0, reopens=1)


def test_record_applies_an_expired_open_interval_first() -> None:
    assert BREAKER.record(opened_at(0), "failure", 40) == BreakerState(phase="open", open_until=100.0, reopens=1)


def test_probes_that_never_report_are_released() -> None:
    state = half_open_at(30)
    _, state = BREAKER.acquire(state, 30)
    _, state = BREAKER.acquire(state, 30)
    state = BREAKER.record(state, "success", 31)
    assert BREAKER.acquire(state, 40)[0] is False
    allowed, state = BREAKER.acquire(state, 60)
    assert allowed
    assert (state.probes, state.probe_successes, state.half_open_since) == (2, 1, 60)


def test_state_survives_json_for_shared_storage() -> None:
    state = fail(CLOSED, 0, 1)
    assert msgspec.json.decode(msgspec.json.encode(state), type=BreakerState) == state


def test_default_config_is_usable() -> None:
    assert CircuitBreaker().acquire(CLOSED, 0) == (True, CLOSED)
