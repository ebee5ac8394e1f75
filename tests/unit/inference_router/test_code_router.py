"""The code-aware router: features, tiers per mode, model choice with gaps and fallback, catalogue checks."""

import msgspec
import pytest

from tollway.inference_router.catalog_loader import DEFAULT_CATALOG_PATH, load_catalog
from tollway.inference_router.domain.canonical import ChatRequest, Message, Tool
from tollway.inference_router.domain.catalog import CodeRouterConfig, parse_catalog
from tollway.inference_router.domain.code_router import classify, features, model_for, parse_mode, tier_for
from tollway.inference_router.domain.errors import CatalogError

CATALOG = load_catalog(DEFAULT_CATALOG_PATH)
CONFIG = CATALOG.document.code_router


def _ask(text: str, **extra: object) -> ChatRequest:
    return ChatRequest(model="router:code", messages=(Message(role="user", content=text),), **extra)  # type: ignore[arg-type]


def test_model_ids_name_the_mode() -> None:
    assert [parse_mode(m) for m in ("router:code", "router:code:price", "router:code:fast", "gpt-4o")] == [
        "balanced",
        "price",
        None,
        None,
    ]


@pytest.mark.parametrize(
    ("text", "tier"),
    [
        ("fix the typo in this comment", 1),
        ("Here is a traceback:\n```\nKeyError\n```\nwhy?", 2),
        ("Design the architecture of a distributed job queue; refactor this:\n```py\nx\n```", 3),
        ("Refactor this distributed system for concurrency, it crashes with a stack trace:\n" + "x" * 9000, 4),
    ],
)
def test_balanced_tiers(text: str, tier: int) -> None:
    assert CONFIG is not None
    assert classify(_ask(text), "balanced", CONFIG, CATALOG).tier == tier


def test_modes_shift_the_tier_within_bounds() -> None:
    assert [tier_for(0, m, agentic=False) for m in ("balanced", "price", "quality", "agentic")] == [1, 1, 2, 1]
    assert tier_for(9, "quality", agentic=False) == 4
    assert tier_for(0, "agentic", agentic=True) == 3


def test_tools_are_agentic() -> None:
    found = features(_ask("list files", tools=(Tool(name="ls"),)))
    assert found["agentic"] == 3


def test_classification_picks_the_tier_model_and_reports_savings() -> None:
    assert CONFIG is not None
    picked = classify(_ask("rename this variable"), "balanced", CONFIG, CATALOG)
    assert (picked.tier, picked.model) == (1, "gpt-4o-mini")
    assert picked.savings_pct > 90  # against the tier-4 model's price
    assert msgspec.to_builtins(picked)["features"]["trivial"] == -1


def test_a_missing_tier_takes_the_next_stronger_one() -> None:
    config = CodeRouterConfig(tiers={1: "gpt-4o-mini", 4: "gpt-4o"})
    assert [model_for(t, config, CATALOG).id for t in (1, 2, 3, 4)] == ["gpt-4o-mini", "gpt-4o", "gpt-4o", "gpt-4o"]


MODEL = "{id: m, context_window: 10, max_output_tokens: 5, prices: {input: 1, output: 1, cache_read: 0, cache_write: 0}, deployments: [{provider: p, upstream_model: u}]}"  # noqa: E501


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("{tiers: {5: m}}", "code_router.tiers"),
        ("{tiers: {1: nope, 4: m}}", "code_router.tiers.1"),
        ("{tiers: {1: m}}", "needs tier 4 or a fallback"),
    ],
)
def test_catalogue_checks_the_code_router(section: str, message: str) -> None:
    provider = "{id: p, kind: openai_compatible, base_url: 'http://x'}"
    text = f"providers: [{provider}]\nmodels: [{MODEL}]\ncode_router: {section}"
    with pytest.raises(CatalogError, match=message):
        parse_catalog(text.encode())
