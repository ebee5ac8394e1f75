"""``/internal/v1/router/code/*``: the code router's options, tiers, stats, a dry-run classification and validation.

The gateway serves them publicly at ``/v1/router/code/*`` (the seed system's routes 81-85).
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency, Provide

from tollway.inference_router import handlers
from tollway.inference_router.bootstrap import RouterServices
from tollway.inference_router.domain.code_router import (
    MODES,
    PREFIX,
    SIZE_STEPS,
    TIER_THRESHOLDS,
    model_for,
    parse_mode,
)
from tollway.inference_router.domain.errors import DomainError
from tollway.inference_router.domain.openai_request import decode_openai_request
from tollway.platform.http import caller_identity
from tollway.platform.identity import Identity

PATH = "/internal/v1/router/code"
_CALLER = {"identity": Provide(caller_identity, sync_to_thread=False)}
MODE_NOTES = {
    "balanced": "the tier the prompt scores",
    "price": "one tier cheaper than scored",
    "quality": "one tier stronger than scored",
    "agentic": "at least tier 3 when tools or tool calls are involved",
}


class ValidateIn(msgspec.Struct, frozen=True, kw_only=True):
    mode: str | None = None
    manual_model: str | None = None


def _services(request: Request[Any, Any, Any]) -> RouterServices:
    return request.app.state.router  # type: ignore[no-any-return]


def _error(status: int, message: str, param: str | None = None) -> Response[Any]:
    return Response(
        {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": None}},
        status_code=status,
    )


@get(PATH + "/options", dependencies=_CALLER)
async def code_options(identity: NamedDependency[Identity]) -> dict[str, Any]:
    return {
        "model": PREFIX,
        "modes": [{"mode": m, "model": f"{PREFIX}:{m}", "behaviour": MODE_NOTES[m]} for m in MODES],
        "features": ["size", "code_blocks", "debugging", "design", "agentic", "trivial"],
        "size_steps_chars": list(SIZE_STEPS),
        "tier_thresholds": list(TIER_THRESHOLDS),
    }


@get(PATH + "/tiers", dependencies=_CALLER)
async def code_tiers(request: Request[Any, Any, Any], identity: NamedDependency[Identity]) -> Response[Any]:
    catalog = _services(request).ports.catalog
    config = catalog.document.code_router
    if config is None:
        return _error(404, "the code router is not configured in this catalogue")
    tiers = []
    for tier in range(1, 5):
        model = model_for(tier, config, catalog)
        tiers.append({"tier": tier, "model": model.id, "prices": msgspec.to_builtins(model.prices)})
    return Response({"tiers": tiers, "fallback": config.fallback, "baseline_tier": 4})


@get(PATH + "/stats", dependencies=_CALLER)
async def code_stats(request: Request[Any, Any, Any], identity: NamedDependency[Identity]) -> dict[str, Any]:
    """This replica's picks since it started, by mode and tier."""
    ports = _services(request).ports
    config = ports.catalog.document.code_router
    picks = [{"mode": mode, "tier": tier, "count": n} for (mode, tier), n in sorted(ports.code_tiers.items())]
    return {
        "configured": config is not None,
        "tiers": len(config.tiers) if config else 0,
        "models": len(set(config.tiers.values())) if config else 0,
        "fallback": config.fallback if config else None,
        "picks": picks,
    }


@post(PATH + "/test", dependencies=_CALLER, status_code=200)
async def code_test(request: Request[Any, Any, Any], identity: NamedDependency[Identity]) -> Response[Any]:
    """Classify an OpenAI chat body (``model`` may be ``router:code[:mode]``) without calling any model."""
    body = await request.body()
    try:
        chat = decode_openai_request(body)
    except DomainError as error:
        return _error(error.status, error.message, error.param)
    mode = parse_mode(chat.model) or "balanced"
    try:
        picked = handlers.classify_code(_services(request).ports, chat, mode)
    except DomainError as error:
        return _error(error.status, error.message, error.param)
    return Response(msgspec.to_builtins(picked))


@post(PATH + "/validate", dependencies=_CALLER, status_code=200)
async def code_validate(request: Request[Any, Any, Any], identity: NamedDependency[Identity]) -> Response[Any]:
    """Settings → the model string to send: ``router:code[:mode]``, or a manual model that must exist."""
    try:
        settings = msgspec.json.decode(await request.body(), type=ValidateIn)
    except (msgspec.ValidationError, msgspec.DecodeError) as error:
        return _error(400, f"invalid settings: {error}")
    if settings.manual_model is not None:
        if _services(request).ports.catalog.model(settings.manual_model) is None:
            return _error(422, f"the model '{settings.manual_model}' does not exist", "manual_model")
        return Response({"valid": True, "model": settings.manual_model})
    mode = settings.mode or "balanced"
    if mode not in MODES:
        return _error(422, f"mode must be one of {', '.join(MODES)}", "mode")
    return Response({"valid": True, "model": PREFIX if mode == "balanced" else f"{PREFIX}:{mode}"})


CODE_ROUTER_ROUTES = [code_options, code_tiers, code_stats, code_test, code_validate]
