"""Circuit breaker as a pure state machine over an explicit state Struct and ``now``, so the state can live in Redis."""

from __future__ import annotations

from typing import Literal

import msgspec

from tollway.inference_router.domain.routing import BreakerSignal

BreakerPhase = Literal["closed", "open", "half_open"]


class BreakerConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Thresholds (counts of consecutive outcomes within a window) and intervals in seconds.

    Rate limits (429) have their own, more tolerant threshold: a busy provider is not a broken one.
    Each re-open straight from half-open doubles the open interval, up to ``max_open_seconds``.
    """

    failure_threshold: int = 5
    failure_window: float = 60.0
    rate_limit_threshold: int = 10
    rate_limit_window: float = 60.0
    open_seconds: float = 30.0
    max_open_seconds: float = 300.0
    half_open_probes: int = 2


class BreakerState(msgspec.Struct, frozen=True, kw_only=True):
    phase: BreakerPhase = "closed"
    failures: int = 0
    failures_since: float = 0.0
    rate_limits: int = 0
    rate_limits_since: float = 0.0
    open_until: float = 0.0
    reopens: int = 0
    probes: int = 0  # half-open probe slots handed out
    probe_successes: int = 0
    half_open_since: float = 0.0


_replace = msgspec.structs.replace


class CircuitBreaker:
    """The transitions, as pure functions of (state, now).

    closed → open after N consecutive failures (or M consecutive 429s) within a window; open → half_open
    once the open interval passes; half_open lets K probes through, closes after K successes and re-opens on
    any probe failure. Results arriving while open are from requests sent before it opened and are ignored.
    """

    def __init__(self, config: BreakerConfig | None = None) -> None:
        self.config = config or BreakerConfig()

    def current(self, state: BreakerState, now: float) -> BreakerState:
        """The state as of ``now``: an expired open interval becomes half-open; stuck probes are released."""
        if state.phase == "open" and now >= state.open_until:
            return _replace(state, phase="half_open", probes=0, probe_successes=0, half_open_since=now)
        # Probes that never reported (their process died) must not keep the breaker half-open forever.
        if state.phase == "half_open" and now - state.half_open_since >= self.config.open_seconds:
            return _replace(state, probes=state.probe_successes, half_open_since=now)
        return state

    def acquire(self, state: BreakerState, now: float) -> tuple[bool, BreakerState]:
        """May a request go to this deployment now? In half-open this takes one of the K probe slots."""
        state = self.current(state, now)
        if state.phase == "closed":
            return True, state
        if state.phase == "half_open" and state.probes < self.config.half_open_probes:
            return True, _replace(state, probes=state.probes + 1)
        return False, state

    def record(
        self, state: BreakerState, signal: BreakerSignal, now: float, retry_after: float | None = None
    ) -> BreakerState:
        state = self.current(state, now)
        if signal == "success":
            return self._success(state)
        if state.phase == "half_open":
            return self._open(state, now, reopens=state.reopens + 1, at_least=retry_after)
        if state.phase == "open":
            return state
        if signal == "rate_limited":
            return self._rate_limited(state, now, retry_after)
        return self._failure(state, now)

    def _success(self, state: BreakerState) -> BreakerState:
        if state.phase == "closed":
            return _replace(state, failures=0, rate_limits=0)
        if state.phase == "open":
            return state
        successes = state.probe_successes + 1
        if successes >= self.config.half_open_probes:
            return BreakerState()
        return _replace(state, probe_successes=successes)

    def _failure(self, state: BreakerState, now: float) -> BreakerState:
        fresh = state.failures == 0 or now - state.failures_since > self.config.failure_window
        failures, since = (1, now) if fresh else (state.failures + 1, state.failures_since)
        if failures >= self.config.failure_threshold:
            return self._open(state, now, reopens=0)
        return _replace(state, failures=failures, failures_since=since)

    def _rate_limited(self, state: BreakerState, now: float, retry_after: float | None) -> BreakerState:
        fresh = state.rate_limits == 0 or now - state.rate_limits_since > self.config.rate_limit_window
        count, since = (1, now) if fresh else (state.rate_limits + 1, state.rate_limits_since)
        if count >= self.config.rate_limit_threshold:
            return self._open(state, now, reopens=0, at_least=retry_after)
        return _replace(state, rate_limits=count, rate_limits_since=since)

    def _open(self, state: BreakerState, now: float, *, reopens: int, at_least: float | None = None) -> BreakerState:
        interval = min(self.config.open_seconds * 2**reopens, self.config.max_open_seconds)
        interval = max(interval, at_least or 0.0)  # a provider's own Retry-After wins when it is longer
        return BreakerState(phase="open", open_until=now + interval, reopens=reopens)
