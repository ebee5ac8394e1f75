"""Per-model routing strategies: weighted, cheapest, lowest latency and least busy orders (pure)."""

import random
from collections import Counter

import pytest

from tollway.inference_router.domain.canonical import ChatRequest, Message
from tollway.inference_router.domain.catalog import Deployment, Model, Prices, Provider
from tollway.inference_router.domain.routing import Attempt
from tollway.inference_router.domain.strategies import DeploymentLoad, ewma, order_attempts, renumbered

PROVIDER = Provider(id="p", kind="openai_compatible", base_url="http://x")
PRICES = Prices(input=1_000_000, output=2_000_000, cache_read=0, cache_write=0)
REQUEST = ChatRequest(model="m", messages=(Message(role="user", content="x" * 400),), max_tokens=100)


def _model(strategy: str, *deployments: Deployment) -> Model:
    return Model(
        id="m",
        context_window=1000,
        max_output_tokens=500,
        prices=PRICES,
        deployments=deployments,
        strategy=strategy,  # type: ignore[arg-type]
    )


def _attempts(model: Model) -> tuple[Attempt, ...]:
    return tuple(Attempt(deployment=d, provider=PROVIDER, position=i) for i, d in enumerate(model.deployments))


def _order(model: Model, load: dict[str, DeploymentLoad] | None = None, seed: int = 0) -> list[str]:
    ordered = order_attempts(_attempts(model), model, REQUEST, load=load or {}, rng=random.Random(seed))
    return [a.deployment.upstream_model for a in ordered]


def test_weighted_draws_first_choices_in_proportion_and_keeps_the_rest_as_fallbacks() -> None:
    model = _model(
        "weighted", Deployment(provider="p", upstream_model="a", weight=3), Deployment(provider="p", upstream_model="b")
    )
    firsts = Counter(_order(model, seed=seed)[0] for seed in range(4000))
    assert 0.72 < firsts["a"] / 4000 < 0.78  # 3:1
    assert sorted(_order(model, seed=1)) == ["a", "b"]


def test_cheapest_uses_each_deployments_own_prices() -> None:
    cheap = Prices(input=100_000, output=200_000, cache_read=0, cache_write=0)
    model = _model(
        "cheapest",
        Deployment(provider="p", upstream_model="model-price"),
        Deployment(provider="p", upstream_model="cheap", prices=cheap),
        Deployment(
            provider="p",
            upstream_model="dear",
            prices=Prices(input=9_000_000, output=9_000_000, cache_read=0, cache_write=0),
        ),
    )
    assert _order(model) == ["cheap", "model-price", "dear"]


def test_lowest_latency_tries_unmeasured_first_then_the_fastest() -> None:
    model = _model(
        "lowest_latency", *(Deployment(provider="p", upstream_model=name) for name in ("slow", "fast", "new"))
    )
    load = {"p/slow": DeploymentLoad(latency_ms=900.0), "p/fast": DeploymentLoad(latency_ms=80.0)}
    assert _order(model, load) == ["new", "fast", "slow"]


def test_least_busy_and_ties_keep_catalogue_order() -> None:
    model = _model("least_busy", *(Deployment(provider="p", upstream_model=name) for name in ("a", "b", "c")))
    load = {"p/a": DeploymentLoad(in_flight=4), "p/b": DeploymentLoad(in_flight=1), "p/c": DeploymentLoad(in_flight=1)}
    assert _order(model, load) == ["b", "c", "a"]


def test_renumbered_makes_only_later_attempts_fallbacks() -> None:
    model = _model("least_busy", *(Deployment(provider="p", upstream_model=name) for name in ("a", "b", "c")))
    chosen = renumbered(tuple(reversed(_attempts(model))))
    assert [a.is_fallback for a in chosen] == [False, True, True]


@pytest.mark.parametrize(("previous", "sample", "expected"), [(None, 50.0, 50.0), (100.0, 200.0, 120.0)])
def test_ewma(previous: float | None, sample: float, expected: float) -> None:
    assert ewma(previous, sample) == pytest.approx(expected)
