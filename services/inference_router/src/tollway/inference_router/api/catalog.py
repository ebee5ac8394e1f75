"""``GET /internal/v1/catalog``: the public models and prices, for the gateway's model list, limits and holds."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency, Provide

from tollway.contracts.internal_api import CATALOG_PATH, CatalogOut, ModelOut, PricesOut
from tollway.inference_router.bootstrap import RouterServices
from tollway.inference_router.catalog_reload import CatalogReloader
from tollway.inference_router.domain.catalog import Catalog, Model
from tollway.inference_router.domain.code_router import MODES, PREFIX, model_for
from tollway.inference_router.domain.errors import CatalogError
from tollway.platform.http import admin_identity, caller_identity
from tollway.platform.identity import Identity


@get(CATALOG_PATH, dependencies={"identity": Provide(caller_identity, sync_to_thread=False)})
async def catalog(request: Request[Any, Any, Any], identity: NamedDependency[Identity]) -> CatalogOut:
    services: RouterServices = request.app.state.router
    catalog = services.ports.catalog
    models = [_model_out(m) for m in catalog.models]
    code = _code_router_out(catalog)
    return CatalogOut(models=tuple(models if code is None else [*models, code]), version=catalog.price_version)


def _code_router_out(catalog: Catalog) -> ModelOut | None:
    """``router:code`` and its modes as one model: the strongest tier's prices, the smallest tier limits.

    The gateway holds credit for the strongest tier (any tier may serve it) and caps at the smallest limits.
    """
    config = catalog.document.code_router
    if config is None:
        return None
    tiers = [model_for(tier, config, catalog) for tier in range(1, 5)]
    strongest = max(tiers, key=lambda m: m.prices.input + m.prices.output)
    base = _model_out(strongest)
    return msgspec.structs.replace(
        base,
        id=PREFIX,
        aliases=tuple(f"{PREFIX}:{mode}" for mode in MODES),
        context_window=min(m.context_window for m in tiers),
        max_output_tokens=min(m.max_output_tokens for m in tiers),
        anonymous_allowed=False,
    )


_ADMIN = {"admin": Provide(admin_identity, sync_to_thread=False)}


@get(CATALOG_PATH + "/status", dependencies=_ADMIN)
async def catalog_status(request: Request[Any, Any, Any], admin: NamedDependency[Identity]) -> dict[str, Any]:
    """This replica's catalogue: file digest, generation, when loaded, last reload error, models and strategies."""
    reloader: CatalogReloader = request.app.state.catalog_reloader
    return reloader.status()


@post(CATALOG_PATH + "/refresh", dependencies=_ADMIN, status_code=200)
async def catalog_refresh(request: Request[Any, Any, Any], admin: NamedDependency[Identity]) -> Response[Any]:
    """Reload the file here, then on every replica; a bad file is a 422 naming the entry and changes nothing."""
    reloader: CatalogReloader = request.app.state.catalog_reloader
    try:
        await reloader.refresh()
    except CatalogError as error:
        body = {"error": {"message": str(error), "type": "invalid_request_error", "param": None, "code": "bad_catalog"}}
        return Response(body, status_code=422)
    return Response(reloader.status())


def _model_out(model: Model) -> ModelOut:
    p = model.prices
    return ModelOut(
        id=model.id,
        aliases=model.aliases,
        context_window=model.context_window,
        max_output_tokens=model.max_output_tokens,
        anonymous_allowed=model.anonymous_allowed,
        prices=PricesOut(
            input=p.input,
            output=p.output,
            cache_read=p.cache_read,
            cache_write=p.cache_write,
            cache_write_1h=p.cache_write_1h,
            reasoning=p.reasoning,
            per_request=p.per_request,
        ),
    )
