"""The one place that builds the router's concrete objects from its infra and settings."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from litestar import Litestar

from tollway.inference_router.adapters.breakers_redis import RedisBreakerBook
from tollway.inference_router.adapters.providers import build_adapters
from tollway.inference_router.adapters.upstream_http import AiohttpTransport, Timeouts
from tollway.inference_router.catalog_loader import load_catalog
from tollway.inference_router.db.tables import messaging
from tollway.inference_router.domain.breaker import BreakerConfig, CircuitBreaker
from tollway.inference_router.handlers import RouterPorts
from tollway.inference_router.settings import InferenceRouterSettings
from tollway.platform.infra import Infra
from tollway.platform.messaging import GroupCommitOutbox
from tollway.platform.redis import RedisKeys


class SystemClock:
    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()


@dataclass(frozen=True)
class RouterServices:
    ports: RouterPorts
    breakers: RedisBreakerBook
    outbox: GroupCommitOutbox
    secret: bytes
    max_body_bytes: int


def build_services(infra: Infra, settings: InferenceRouterSettings) -> RouterServices:
    catalog = load_catalog(settings.catalog_path)
    if infra.redis is None:
        raise RuntimeError("the router keeps breaker state in Redis")
    breaker = CircuitBreaker(_breaker_config(settings))
    breakers = RedisBreakerBook(infra.redis, RedisKeys("inference_router", settings.namespace), breaker)
    outbox = GroupCommitOutbox(infra.require_engine(), messaging.outbox, interval_s=settings.outbox_flush_interval_s)
    timeouts = Timeouts(
        connect_s=settings.connect_timeout_s,
        first_token_s=settings.first_token_timeout_s,
        total_s=settings.total_timeout_s,
    )
    ports = RouterPorts(
        catalog=catalog,
        adapters=build_adapters(catalog),
        transport=AiohttpTransport(infra.require_http(), timeouts),
        breakers=breakers,
        usage=outbox,
        clock=SystemClock(),
    )
    return RouterServices(ports, breakers, outbox, settings.internal_secret.encode(), settings.max_body_bytes)


def _breaker_config(settings: InferenceRouterSettings) -> BreakerConfig:
    return BreakerConfig(
        failure_threshold=settings.breaker_failure_threshold,
        rate_limit_threshold=settings.breaker_rate_limit_threshold,
        open_seconds=settings.breaker_open_s,
        half_open_probes=settings.breaker_half_open_probes,
    )


@contextlib.asynccontextmanager
async def router_lifespan(app: Litestar) -> AsyncIterator[None]:
    """Build the services inside the infra lifespan; flush staged usage events before the engine closes."""
    services = build_services(app.state.infra, app.state.settings)
    services.outbox.start()
    app.state.router = services
    try:
        yield
    finally:
        await services.outbox.close()
