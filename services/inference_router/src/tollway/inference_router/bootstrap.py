"""The one place that builds the router's concrete objects from its infra and settings."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from litestar import Litestar

from tollway.inference_router.adapters.breakers_redis import RedisBreakerBook
from tollway.inference_router.adapters.deployment_load_redis import RedisDeploymentLoad
from tollway.inference_router.adapters.providers import build_adapters
from tollway.inference_router.adapters.upstream_http import AiohttpTransport, Timeouts
from tollway.inference_router.catalog_loader import load_catalog
from tollway.inference_router.db.tables import messaging
from tollway.inference_router.domain.breaker import BreakerConfig, CircuitBreaker
from tollway.inference_router.handlers import RouterPorts
from tollway.inference_router.settings import InferenceRouterSettings
from tollway.platform.infra import Infra
from tollway.platform.messaging import DurablePublisher, GroupCommitOutbox, JetStreamPublisher
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
    usage: DurablePublisher
    secret: bytes
    max_body_bytes: int


def build_services(infra: Infra, settings: InferenceRouterSettings) -> RouterServices:
    catalog = load_catalog(settings.catalog_path)
    if infra.redis is None:
        raise RuntimeError("the router keeps breaker state in Redis")
    breaker = CircuitBreaker(_breaker_config(settings))
    keys = RedisKeys("inference_router", settings.namespace)
    breakers = RedisBreakerBook(infra.redis, keys, breaker)
    usage = _usage_publisher(infra, settings)
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
        usage=usage,
        clock=SystemClock(),
        load=RedisDeploymentLoad(infra.redis, keys, stale_s=settings.total_timeout_s),
        deadline_s=settings.request_deadline_s,
    )
    return RouterServices(ports, breakers, usage, settings.internal_secret.encode(), settings.max_body_bytes)


def _usage_publisher(infra: Infra, settings: InferenceRouterSettings) -> DurablePublisher:
    """Usage events go straight to JetStream; the outbox only holds those NATS did not ack in time."""
    fallback = GroupCommitOutbox(infra.require_engine(), messaging.outbox, interval_s=settings.outbox_flush_interval_s)
    publisher = JetStreamPublisher(infra.js, infra.ns, timeout_s=settings.usage_ack_timeout_s)
    nc = infra.nc
    return DurablePublisher(
        publisher,
        fallback,
        capacity=settings.usage_buffer_capacity,
        connected=lambda: nc is not None and nc.is_connected,
    )


def _breaker_config(settings: InferenceRouterSettings) -> BreakerConfig:
    return BreakerConfig(
        failure_threshold=settings.breaker_failure_threshold,
        rate_limit_threshold=settings.breaker_rate_limit_threshold,
        open_seconds=settings.breaker_open_s,
        half_open_probes=settings.breaker_half_open_probes,
    )


@contextlib.asynccontextmanager
async def router_lifespan(app: Litestar) -> AsyncIterator[None]:
    """Build the services inside the infra lifespan; finish usage events in flight before the engine closes."""
    infra: Infra = app.state.infra
    services = build_services(infra, app.state.settings)
    services.usage.start()
    infra.checks["usage_buffer"] = _buffer_check(services.usage)
    # Postgres only holds the usage events JetStream did not ack; while it is down the router still serves, and
    # the usage buffer's check fails readiness if NATS goes too and events pile up.
    infra.soft_checks.add("postgres")
    app.state.router = services
    try:
        yield
    finally:
        await services.usage.close()


def _buffer_check(usage: DurablePublisher) -> Callable[[], Awaitable[None]]:
    async def check() -> None:
        if usage.full:
            raise RuntimeError(f"{usage.pending} usage events are not durable yet")

    return check
