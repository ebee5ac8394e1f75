"""Opening a service's infrastructure (Postgres, NATS, Redis) once, with readiness checks for each."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field

import aiohttp
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tollway.contracts import ALL_BUCKETS, ALL_STREAMS
from tollway.platform.db import make_engine
from tollway.platform.http_client import open_http_client
from tollway.platform.messaging import Namespace, nats_connection, provision
from tollway.platform.redis import RedisClient, open_redis
from tollway.platform.settings import InfraSettings

ReadinessCheck = Callable[[], Awaitable[None]]
log = logging.getLogger(__name__)


@dataclass
class Infra:
    """The opened clients of one process; absent ones are ``None`` for services that do not use them."""

    service: str
    ns: Namespace
    engine: AsyncEngine | None = None
    nc: NatsClient | None = None
    redis: RedisClient | None = None
    http: aiohttp.ClientSession | None = None
    checks: dict[str, ReadinessCheck] = field(default_factory=dict)
    # Checks whose failure degrades the service without stopping it from serving: reported, never a 503.
    soft_checks: set[str] = field(default_factory=set)

    @property
    def js(self) -> JetStreamContext:
        if self.nc is None:
            raise RuntimeError(f"{self.service} opened no NATS connection")
        return self.nc.jetstream()

    def require_http(self) -> aiohttp.ClientSession:
        if self.http is None:
            raise RuntimeError(f"{self.service} opened no HTTP client")
        return self.http

    def require_engine(self) -> AsyncEngine:
        if self.engine is None:
            raise RuntimeError(f"{self.service} opened no database engine")
        return self.engine


@asynccontextmanager
async def open_infra(
    settings: InfraSettings,
    service: str,
    *,
    db: bool = True,
    nats: bool = True,
    redis: bool = False,
    http: bool = False,
) -> AsyncIterator[Infra]:
    """Open what the service needs, provision streams/buckets, and close everything on exit."""
    infra = Infra(service=service, ns=Namespace(settings.namespace))
    async with AsyncExitStack() as stack:
        if db:
            infra.engine = make_engine(settings.database_url, application_name=service)
            stack.push_async_callback(_dispose, infra.engine)
            infra.checks["postgres"] = _postgres_check(infra.engine)
        if nats:
            infra.nc = await stack.enter_async_context(nats_connection(settings.nats_url, service))
            await provision(infra.js, ALL_STREAMS, ALL_BUCKETS, infra.ns, settings.nats_replicas)
            infra.checks["nats"] = _nats_check(infra)
        if redis:
            infra.redis = open_redis(settings.redis_url)
            stack.push_async_callback(infra.redis.aclose)
            infra.checks["redis"] = _redis_check(infra.redis)
        if http:
            infra.http = open_http_client()
            stack.push_async_callback(infra.http.close)
        yield infra


async def _dispose(engine: AsyncEngine, within_s: float = 5.0) -> None:
    """Close the pool, but never let a stuck connection close hold up shutdown for ever."""
    try:
        await asyncio.wait_for(engine.dispose(), timeout=within_s)
    except TimeoutError:
        log.warning("database pool did not close within %.0f s; abandoning it", within_s)


def _postgres_check(engine: AsyncEngine) -> ReadinessCheck:
    async def check() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    return check


def _nats_check(infra: Infra) -> ReadinessCheck:
    async def check() -> None:
        if infra.nc is None or not infra.nc.is_connected:
            raise ConnectionError("not connected")
        await infra.js.account_info()

    return check


def _redis_check(client: RedisClient) -> ReadinessCheck:
    async def check() -> None:
        await client.ping()

    return check


async def run_checks(checks: dict[str, ReadinessCheck], timeout_s: float = 2.0) -> dict[str, str]:
    """Run every check concurrently; each maps to ``"ok"`` or the reason it failed."""

    async def one(check: ReadinessCheck) -> str:
        try:
            await asyncio.wait_for(check(), timeout_s)
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"[:200] or type(exc).__name__
        return "ok"

    names = list(checks)
    results = await asyncio.gather(*(one(checks[name]) for name in names))
    return dict(zip(names, results, strict=True))
