"""Catalogue reloads without a restart: a refresh bumps a generation counter in Redis, every replica follows it.

The replica that takes ``POST /internal/v1/catalog/refresh`` reloads first (a bad file is refused there and
nothing changes anywhere); the others see the new generation at their next poll (``CATALOG_POLL_S``) and reload
the same file. A reload swaps the router's services whole, so a request in flight keeps the catalogue it began with.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from litestar import Litestar
from redis.exceptions import RedisError

from tollway.inference_router.adapters.providers import build_adapters
from tollway.inference_router.bootstrap import RouterServices
from tollway.inference_router.catalog_loader import load_catalog
from tollway.inference_router.domain.catalog import Catalog
from tollway.inference_router.domain.errors import CatalogError
from tollway.platform.redis import RedisClient, RedisKeys

log = logging.getLogger(__name__)


class CatalogReloader:
    def __init__(self, app: Litestar, redis: RedisClient, keys: RedisKeys, path: str, poll_s: float) -> None:
        self._app = app
        self._redis = redis
        self._key = keys.key("catalog", "generation")
        self._path = Path(path)
        self._poll_s = poll_s
        self.generation = 0
        self.loaded_at = time.time()
        self.digest = _digest(self._path)
        self.last_error: str | None = None

    @property
    def catalog(self) -> Catalog:
        services: RouterServices = self._app.state.router
        return services.ports.catalog

    async def refresh(self) -> None:
        """Reload here (``CatalogError`` if the file is bad: nothing changes), then tell every replica."""
        self._reload()
        try:
            self.generation = int(await self._redis.incr(self._key))
        except (RedisError, OSError) as error:
            log.warning("catalogue reloaded here only: Redis unavailable (%s)", type(error).__name__)

    async def follow(self) -> None:
        """Reload when another replica bumped the generation; a failure is kept for the status page."""
        try:
            raw = await self._redis.get(self._key)
        except (RedisError, OSError):
            return
        generation = int(raw or 0)
        if generation == self.generation:
            return
        try:
            self._reload()
        except CatalogError as error:
            self.last_error = str(error)
            log.error("catalogue generation %d not loaded: %s", generation, error)
        self.generation = generation

    def _reload(self) -> None:
        catalog = load_catalog(self._path)
        adapters = build_adapters(catalog)
        services: RouterServices = self._app.state.router
        ports = dataclasses.replace(services.ports, catalog=catalog, adapters=adapters)
        self._app.state.router = dataclasses.replace(services, ports=ports)
        self.loaded_at, self.digest, self.last_error = time.time(), _digest(self._path), None
        log.info("catalogue reloaded: %d models, price version %s", len(catalog.models), catalog.price_version)

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self._poll_s)
            await self.follow()

    def status(self) -> dict[str, Any]:
        catalog = self.catalog
        return {
            "path": str(self._path),
            "digest": self.digest,
            "generation": self.generation,
            "loaded_at": self.loaded_at,
            "last_error": self.last_error,
            "price_version": catalog.price_version,
            "providers": [{"id": p.id, "kind": p.kind} for p in catalog.providers.values()],
            "models": [
                {
                    "id": m.id,
                    "kind": m.kind,
                    "strategy": m.strategy,
                    "deployments": [{"key": d.key, "weight": d.weight} for d in m.deployments],
                }
                for m in catalog.models
            ],
        }


def _digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    except OSError:
        return ""


@contextlib.asynccontextmanager
async def catalog_lifespan(app: Litestar) -> AsyncIterator[None]:
    """After ``router_lifespan`` built the services: follow refreshes until shutdown."""
    settings = app.state.settings
    redis = app.state.infra.redis
    reloader = CatalogReloader(
        app, redis, RedisKeys("inference_router", settings.namespace), settings.catalog_path, settings.catalog_poll_s
    )
    await reloader.follow()  # a replica started after a refresh is already on the file: adopt the generation
    reloader.last_error = None
    app.state.catalog_reloader = reloader
    task = asyncio.create_task(reloader.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
