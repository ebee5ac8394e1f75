"""Per-model routing strategies: the order deployments are tried in, from weights, prices, latency or load.

``ordered`` keeps the catalogue's order (primary first). ``weighted`` draws the order at random in proportion to
``weight`` (without replacement, so the others remain fallbacks). ``cheapest`` sorts by what this request would
cost on each deployment's own price (``deployments[].prices``, else the model's). ``lowest_latency`` sorts by the
EWMA of measured latency (TTFT for streams) shared across replicas; deployments never measured go first so they
get measured. ``least_busy`` sorts by requests in flight across replicas. Ties keep the catalogue's order.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Literal

import msgspec

from tollway.inference_router.domain.canonical import ChatRequest, Usage
from tollway.inference_router.domain.catalog import Model
from tollway.inference_router.domain.pricing import cost_micros, effective_max_tokens
from tollway.inference_router.domain.routing import Attempt
from tollway.inference_router.domain.usage import estimate_prompt_tokens

ModelStrategy = Literal["ordered", "weighted", "cheapest", "lowest_latency", "least_busy"]
EWMA_ALPHA = 0.2  # weight of the newest latency sample: about the last ten requests dominate


class DeploymentLoad(msgspec.Struct, frozen=True, kw_only=True):
    """What the replicas measured of one deployment: latency EWMA (``None``: never measured) and in-flight calls."""

    latency_ms: float | None = None
    in_flight: int = 0


def needs_load(strategy: ModelStrategy) -> bool:
    return strategy in {"lowest_latency", "least_busy"}


def ewma(previous: float | None, sample: float, alpha: float = EWMA_ALPHA) -> float:
    return sample if previous is None else alpha * sample + (1 - alpha) * previous


def order_attempts(
    attempts: Sequence[Attempt],
    model: Model,
    request: ChatRequest,
    *,
    load: Mapping[str, DeploymentLoad],
    rng: random.Random,
) -> tuple[Attempt, ...]:
    """The plan's attempts in the model's strategy order (the user's strategy already chose which may be tried)."""
    match model.strategy:
        case "weighted":
            return _weighted(attempts, rng)
        case "cheapest":
            return tuple(sorted(attempts, key=lambda a: _request_cost(a, model, request)))
        case "lowest_latency":
            return tuple(sorted(attempts, key=lambda a: _latency_rank(load.get(a.deployment.key))))
        case "least_busy":
            return tuple(sorted(attempts, key=lambda a: (load.get(a.deployment.key) or DeploymentLoad()).in_flight))
    return tuple(attempts)


def _weighted(attempts: Sequence[Attempt], rng: random.Random) -> tuple[Attempt, ...]:
    """Weighted random order without replacement (Efraimidis-Spirakis keys: ``u ** (1 / weight)``, largest first)."""
    keyed = [(rng.random() ** (1 / attempt.deployment.weight), i) for i, attempt in enumerate(attempts)]
    return tuple(attempts[i] for _, i in sorted(keyed, reverse=True))


def _request_cost(attempt: Attempt, model: Model, request: ChatRequest) -> int:
    prices = attempt.deployment.prices or model.prices
    worst = Usage(prompt_tokens=estimate_prompt_tokens(request), completion_tokens=effective_max_tokens(request, model))
    return cost_micros(worst, prices)


def _latency_rank(measured: DeploymentLoad | None) -> float:
    return -1.0 if measured is None or measured.latency_ms is None else measured.latency_ms


def renumbered(attempts: Sequence[Attempt]) -> tuple[Attempt, ...]:
    """After reordering, the first attempt is the one the strategy chose, whatever its place in the catalogue.

    ``Attempt.is_fallback`` is ``position > first``: the chosen one gets its own position as ``first``, every later
    one ``-1``, so exactly the attempts after the strategy's choice count as fallbacks.
    """
    return tuple(msgspec.structs.replace(a, first=a.position if i == 0 else -1) for i, a in enumerate(attempts))
