"""The code-aware router: ``router:code[:mode]`` classifies a coding prompt into tiers 1-4 and picks that tier's model.

Features (counted over the user and system text of the conversation, tools and history included):
- ``size``: characters of text; 1 point at 2,000, 2 at 8,000, 3 at 24,000.
- ``code_blocks``: fenced blocks (```); 1 point for one, 2 for three or more.
- ``debugging``: traceback/error/exception/stack trace/segfault/failing test/bug → 2 points.
- ``design``: architecture/design/refactor/migrate/scalab/concurrency/race condition/distributed → 3 points.
- ``agentic``: tools offered, or tool calls/results in the history → 3 points.
- ``trivial``: rename/typo/format/docstring/comment/explain this line, with no other signal → -1 point.
Score → tier: < 2 → 1, < 4 → 2, < 7 → 3, else 4. Modes shift it: ``price`` one tier down, ``quality`` one up,
``agentic`` at least 3 when the agentic feature is present, ``balanced`` (default) as scored; always within 1-4.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from tollway.inference_router.domain.canonical import ChatRequest, Content, TextPart
from tollway.inference_router.domain.catalog import Catalog, CodeRouterConfig, Model

CodeMode = Literal["balanced", "price", "quality", "agentic"]
MODES: tuple[CodeMode, ...] = ("balanced", "price", "quality", "agentic")
PREFIX = "router:code"
SIZE_STEPS = (2_000, 8_000, 24_000)
TIER_THRESHOLDS = (2, 4, 7)  # score below the n-th threshold → tier n+1
_DEBUGGING = ("traceback", "error", "exception", "stack trace", "segfault", "failing test", "bug")
_DESIGN = ("architecture", "design", "refactor", "migrate", "scalab", "concurrency", "race condition", "distributed")
_TRIVIAL = ("rename", "typo", "format", "docstring", "comment", "explain this line")


class Classification(msgspec.Struct, frozen=True, kw_only=True):
    tier: int
    score: int
    mode: CodeMode
    model: str
    features: dict[str, int]
    savings_pct: float  # estimated saving against always using tier 4, by input + output price


def parse_mode(model_name: str) -> CodeMode | None:
    """``router:code`` → balanced, ``router:code:price`` → price; ``None`` if not a code-router model id."""
    if model_name == PREFIX:
        return "balanced"
    head, _, mode = model_name.rpartition(":")
    if head == PREFIX and mode in MODES:
        return mode
    return None


def features(request: ChatRequest) -> dict[str, int]:
    text = "\n".join(_text(m.content) for m in request.messages if m.role in {"system", "developer", "user"})
    lower = text.lower()
    fences = lower.count("```") // 2
    agentic = bool(request.tools) or any(m.tool_calls or m.role == "tool" for m in request.messages)
    found = {
        "size": sum(len(text) >= step for step in SIZE_STEPS),
        "code_blocks": 2 if fences >= 3 else min(fences, 1),
        "debugging": 2 if any(word in lower for word in _DEBUGGING) else 0,
        "design": 3 if any(word in lower for word in _DESIGN) else 0,
        "agentic": 3 if agentic else 0,
    }
    found["trivial"] = -1 if not any(found.values()) and any(word in lower for word in _TRIVIAL) else 0
    return found


def tier_for(score: int, mode: CodeMode, *, agentic: bool) -> int:
    tier = 1 + sum(score >= threshold for threshold in TIER_THRESHOLDS)
    if mode == "price":
        tier -= 1
    elif mode == "quality":
        tier += 1
    elif mode == "agentic" and agentic:
        tier = max(tier, 3)
    return min(4, max(1, tier))


def classify(request: ChatRequest, mode: CodeMode, config: CodeRouterConfig, catalog: Catalog) -> Classification:
    found = features(request)
    score = sum(found.values())
    tier = tier_for(score, mode, agentic=found["agentic"] > 0)
    model = model_for(tier, config, catalog)
    strongest = model_for(4, config, catalog)
    return Classification(
        tier=tier,
        score=score,
        mode=mode,
        model=model.id,
        features=found,
        savings_pct=_savings(model, strongest),
    )


def model_for(tier: int, config: CodeRouterConfig, catalog: Catalog) -> Model:
    """The tier's model; a tier left out takes the next stronger one, then the fallback, then the next weaker."""
    order = [*range(tier, 5), *range(tier - 1, 0, -1)]
    names = (
        [config.tiers.get(t) for t in order[: 5 - tier]]
        + [config.fallback]
        + [config.tiers.get(t) for t in order[5 - tier :]]
    )
    for name in names:
        model = catalog.model(name) if name else None
        if model is not None:
            return model
    raise LookupError("code router: the catalogue has no model for any tier")  # the catalogue check prevents it


def _savings(model: Model, strongest: Model) -> float:
    dear = strongest.prices.input + strongest.prices.output
    cheap = model.prices.input + model.prices.output
    return round(100 * (1 - cheap / dear), 1) if dear else 0.0


def _text(content: Content | None) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "\n".join(part.text for part in content if isinstance(part, TextPart))
