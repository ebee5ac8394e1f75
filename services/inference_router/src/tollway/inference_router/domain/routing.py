"""Routing decisions: the ordered attempt plan for a model, how an upstream outcome is classified, Retry-After."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set
from datetime import UTC
from email.utils import parsedate_to_datetime
from math import ceil, isfinite
from typing import Literal

import msgspec

from tollway.inference_router.domain.catalog import Deployment, Model, Provider

RoutingStrategy = Literal["primary_first", "fallback_only", "bedrock_only"]
# The seed system's names for the same strategies (users carry them from there).
STRATEGY_ALIASES: dict[str, RoutingStrategy] = {
    "primary_first": "primary_first",
    "plan_first": "primary_first",
    "fallback_only": "fallback_only",
    "bedrock_only": "bedrock_only",
}
OutcomeKind = Literal["success", "client_error", "rate_limited", "provider_error", "timeout", "connect_error"]
BreakerSignal = Literal["success", "failure", "rate_limited"]

# Upstream statuses that mean "this deployment cannot serve it", not "the request is wrong": a bad or
# unauthorised provider key, or an upstream model id the provider does not know (a catalogue mistake).
_DEPLOYMENT_FAULTS = frozenset({401, 403, 404})


class Attempt(msgspec.Struct, frozen=True, kw_only=True):
    """One deployment to try; ``position`` is its place in the model's list (0 = the primary).

    ``first`` is the position the strategy starts from: a ``bedrock_only`` user served by the first Bedrock
    deployment got what they asked for, not a fallback.
    """

    deployment: Deployment
    provider: Provider
    position: int
    first: int = 0

    @property
    def is_fallback(self) -> bool:
        return self.position > self.first


class AttemptPlan(msgspec.Struct, frozen=True, kw_only=True):
    """Deployments to try in order; ``skipped`` were left out because they are unavailable right now."""

    attempts: tuple[Attempt, ...]
    skipped: tuple[Deployment, ...] = ()


def plan_attempts(
    model: Model, providers: Mapping[str, Provider], *, strategy: RoutingStrategy, unavailable: Set[str]
) -> AttemptPlan:
    """The attempt order for ``model``.

    ``primary_first`` walks the model's deployments in order; ``fallback_only`` never uses the first one;
    ``bedrock_only`` uses only deployments on ``bedrock`` providers (the seed's users who must never reach
    the primary API). Deployments whose key (``provider/upstream_model``) is in ``unavailable`` (breaker
    open, Retry-After pending) are skipped, the primary included. An empty plan means nothing can be tried
    now (answer 503).
    """
    candidates = list(enumerate(model.deployments))
    if strategy == "fallback_only":
        candidates = candidates[1:]
    elif strategy == "bedrock_only":
        candidates = [(i, d) for i, d in candidates if providers[d.provider].kind == "bedrock"]
    first = candidates[0][0] if candidates and strategy == "bedrock_only" else 0
    attempts = tuple(
        Attempt(deployment=deployment, provider=providers[deployment.provider], position=position, first=first)
        for position, deployment in candidates
        if deployment.key not in unavailable
    )
    skipped = tuple(deployment for _, deployment in candidates if deployment.key in unavailable)
    return AttemptPlan(attempts=attempts, skipped=skipped)


def strategy_named(name: str) -> RoutingStrategy:
    """The strategy a user's stored name stands for; names this router does not implement route in order."""
    return STRATEGY_ALIASES.get(name, "primary_first")


class Outcome(msgspec.Struct, frozen=True, kw_only=True):
    """How one attempt ended. ``retry_after`` is in seconds when the upstream said how long to stay away."""

    kind: OutcomeKind
    status: int | None = None
    retry_after: float | None = None

    @property
    def try_next(self) -> bool:
        """Whether the next deployment should be tried; otherwise the answer goes to the client as it is."""
        return self.kind not in {"success", "client_error"}

    @property
    def breaker_signal(self) -> BreakerSignal:
        """A request the upstream rejected as invalid still shows the upstream is healthy."""
        if self.kind in {"success", "client_error"}:
            return "success"
        return "rate_limited" if self.kind == "rate_limited" else "failure"


def classify_status(status: int) -> OutcomeKind:
    """429 and 5xx (incl. Anthropic's 529), 408 and deployment faults (401/403/404) move on; other 4xx are final."""
    if status < 400:
        return "success"
    if status == 429:
        return "rate_limited"
    if status == 408:
        return "timeout"
    if status >= 500 or status in _DEPLOYMENT_FAULTS:
        return "provider_error"
    return "client_error"


def outcome_for_status(status: int, *, retry_after: str | None = None, now: float = 0.0) -> Outcome:
    """Classify an HTTP answer; ``now`` (unix seconds) is needed only for an HTTP-date ``Retry-After``."""
    return Outcome(kind=classify_status(status), status=status, retry_after=parse_retry_after(retry_after, now=now))


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """``Retry-After`` as seconds from ``now``: delta-seconds or an HTTP date; ``None`` if absent or unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text[0].isdigit():  # delta-seconds; decimals are tolerated (some providers send them)
        return _seconds(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are always GMT; "-0000" parses zone-less
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


def _seconds(text: str) -> float | None:
    try:
        seconds = float(text)
    except ValueError:
        return None
    return seconds if isfinite(seconds) else None


def final_failure_status(outcomes: Iterable[Outcome]) -> int:
    """The status for the client when every attempt failed.

    429 if all were rate limits, 504 if all timed out, 503 if nothing could be tried, else 502.
    """
    kinds = {outcome.kind for outcome in outcomes}
    if not kinds:
        return 503
    if kinds == {"rate_limited"}:
        return 429
    if kinds == {"timeout"}:
        return 504
    return 502


def retry_after_header(seconds: float) -> str:
    """A wait as ``Retry-After`` delta-seconds: rounded up (never back before the window ends), at least 1."""
    return str(max(1, ceil(seconds)))


def cooling_down_wait(skipped: Iterable[str], cooling: Mapping[str, float]) -> float | None:
    """When every skipped deployment is only in a Retry-After cooldown: the shortest wait left, else ``None``.

    That route is rate limited for a known while (429 + ``Retry-After``); one open breaker or a plan with nothing
    to skip means no provider can serve it now (503).
    """
    keys = list(skipped)
    if not keys or any(key not in cooling for key in keys):
        return None
    return min(cooling[key] for key in keys)


def attempt_budget(remaining_s: float, attempts_left: int) -> float:
    """An attempt's share of what is left of the request deadline: an equal split among the attempts still to go.

    A fast failure leaves its unused share to the next ones; the last attempt gets everything that remains.
    """
    return max(0.0, remaining_s) / max(1, attempts_left)
