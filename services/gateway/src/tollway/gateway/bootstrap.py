"""The one place that builds the gateway's concrete objects, and the serve process's background tasks."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from litestar import Litestar

from tollway.contracts import utc_now
from tollway.gateway.accounts_events import KeyUpdateListener
from tollway.gateway.accounts_ports import AccountPolicy, AccountPorts
from tollway.gateway.admission import RedisAdmission
from tollway.gateway.balances import BalanceBook, BalanceWatcher
from tollway.gateway.catalogcache import CatalogCache
from tollway.gateway.db.repositories import SqlAlchemyIdentityLookup, SqlAlchemyOverrideLoader
from tollway.gateway.db.uow import SqlAlchemyAccountStore
from tollway.gateway.domain.api_keys import KeyDigester
from tollway.gateway.domain.audit import AdminFailureLog
from tollway.gateway.domain.ratelimits import Limits, Periods
from tollway.gateway.forwarding import RouterClient
from tollway.gateway.keycache import KeyCache
from tollway.gateway.keyusage import InMemoryKeyUsage
from tollway.gateway.limitbook import LimitBook, default_limits, keep_loaded
from tollway.gateway.ports import AdmissionPorts, EventPublisher, KeyAuthPorts
from tollway.gateway.revocations import RevocationListener
from tollway.gateway.sessions import AccessTokens, ExternalVerifier
from tollway.gateway.settings import GatewaySettings
from tollway.gateway.settlements import Settlements
from tollway.gateway.throttles import RedisThrottle
from tollway.platform.infra import Infra
from tollway.platform.messaging import JetStreamPublisher
from tollway.platform.redis import RedisKeys

log = logging.getLogger(__name__)
MIN_ADMIN_KEY_LENGTH = 24
FAST_PATH_TIMEOUT_S = 1.0  # a revocation request must not hang on NATS: the outbox delivers anyway


@dataclass(frozen=True)
class PublicServices:
    """The hot path's collaborators: in-memory caches, one Redis script pair, one pooled router client."""

    settings: GatewaySettings
    ports: AdmissionPorts
    catalogue: CatalogCache
    balances: BalanceBook
    limits: LimitBook
    router: RouterClient
    settlements: Settlements


@dataclass(frozen=True)
class GatewayServices:
    """What controllers and commands need, built once per process from its infra."""

    store: SqlAlchemyAccountStore
    digester: KeyDigester
    auth: KeyAuthPorts
    cache: KeyCache
    usage: InMemoryKeyUsage
    fast_path: EventPublisher | None
    admin_digest: str | None  # None: no admin key configured, so the admin API refuses everyone
    public: PublicServices | None = None  # the serve process's public routes (absent for commands)
    accounts: AccountPorts | None = None  # the serve process's account routes (ADR 009)
    admin_failures: AdminFailureLog = dataclasses.field(default_factory=AdminFailureLog)


def build_services(infra: Infra, settings: GatewaySettings) -> GatewayServices:
    engine = infra.require_engine()
    digester = KeyDigester(settings.key_pepper)
    cache = KeyCache(
        ttl_s=settings.key_cache_ttl_s,
        negative_ttl_s=settings.key_cache_negative_ttl_s,
        max_entries=settings.key_cache_max_entries,
    )
    usage = InMemoryKeyUsage()
    fast_path = None if infra.nc is None else JetStreamPublisher(infra.js, infra.ns, timeout_s=FAST_PATH_TIMEOUT_S)
    return GatewayServices(
        store=SqlAlchemyAccountStore(engine),
        digester=digester,
        auth=KeyAuthPorts(digester=digester, cache=cache, lookup=SqlAlchemyIdentityLookup(engine), usage=usage),
        cache=cache,
        usage=usage,
        fast_path=fast_path,
        admin_digest=_admin_digest(settings, digester),
    )


def build_public(infra: Infra, settings: GatewaySettings) -> PublicServices:
    if infra.redis is None:
        raise RuntimeError("the gateway's public routes need Redis for rate limits and credit holds")
    router = RouterClient(infra.require_http(), settings.router_url, settings.internal_secret.encode())
    catalogue = CatalogCache(
        router.fetch_catalog, refresh_s=settings.catalog_refresh_s, retry_s=settings.catalog_retry_s
    )
    balances = BalanceBook()
    limits = LimitBook(
        defaults=default_limits(settings),
        anonymous=Limits(rpm=settings.anonymous_rpm, tpm=settings.anonymous_tpm, rpd=settings.anonymous_rpd),
        periods=Periods(minute_ms=_ms(settings.rate_minute_s), day_ms=_ms(settings.rate_day_s)),
    )
    admission = RedisAdmission(
        infra.redis,
        RedisKeys("gateway", settings.namespace),
        hold_ttl_ms=_ms(settings.hold_ttl_s),
        settle_ms=_ms(settings.settled_hold_s),
        timeout_s=settings.redis_timeout_s,
        fail_open=settings.rate_limit_fail_open,
    )
    ports = AdmissionPorts(catalogue=catalogue, balances=balances, limits=limits, admission=admission)
    return PublicServices(settings, ports, catalogue, balances, limits, router, Settlements())


def build_accounts(infra: Infra, settings: GatewaySettings, services: GatewayServices) -> AccountPorts:
    if infra.redis is None:
        raise RuntimeError("the account routes need Redis for sign-in throttling")
    external = None
    if settings.external_issuer:
        external = ExternalVerifier(
            infra.require_http(),
            issuer=settings.external_issuer,
            audience=settings.external_audience,
            jwks_url=settings.external_jwks_url,
        )
    policy = AccountPolicy(
        session_ttl_s=settings.session_ttl_s,
        reset_ttl_s=settings.password_reset_ttl_s,
        rotation_grace_s=settings.key_rotation_grace_s,
        login_max_failures=settings.login_max_failures,
        login_max_per_address=settings.login_max_per_address,
        login_window_s=settings.login_window_s,
        register_max_per_address=settings.register_max_per_address,
        reset_max_per_address=settings.reset_max_per_address,
        public_url=settings.public_url,
    )
    return AccountPorts(
        store=services.store,
        digester=services.digester,
        tokens=AccessTokens(settings.session_secret, settings.access_token_ttl_s),
        throttle=RedisThrottle(infra.redis, RedisKeys("gateway", settings.namespace)),
        policy=policy,
        external=external,
        fast_path=services.fast_path,
    )


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def _admin_digest(settings: GatewaySettings, digester: KeyDigester) -> str | None:
    if not settings.admin_key:
        log.warning("GATEWAY_ADMIN_KEY is not set: the admin API refuses every request")
        return None
    if len(settings.admin_key) < MIN_ADMIN_KEY_LENGTH:
        raise ValueError(f"GATEWAY_ADMIN_KEY must be at least {MIN_ADMIN_KEY_LENGTH} characters")
    return digester.digest(settings.admin_key)


class GatewayRuntime:
    """The serve process's own lifespan: services in ``app.state.gateway``, cache invalidation, usage flush."""

    def __init__(self, settings: GatewaySettings) -> None:
        self._settings = settings
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._listener: RevocationListener | None = None
        self._updates: KeyUpdateListener | None = None
        self._public: PublicServices | None = None

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Litestar) -> AsyncIterator[None]:
        """Runs inside the platform's infra lifespan, so the last usage flush happens before the engine closes."""
        await self.start(app)
        try:
            yield
        finally:
            await self.stop(app)

    async def start(self, app: Litestar) -> None:
        infra: Infra = app.state.infra
        if infra.nc is None:
            raise RuntimeError("the gateway needs NATS to hear about revoked keys and balances")
        public = build_public(infra, self._settings)
        services = dataclasses.replace(build_services(infra, self._settings), public=public)
        services = dataclasses.replace(services, accounts=build_accounts(infra, self._settings, services))
        self._listener = RevocationListener(infra.nc, infra.ns, services.cache)
        await self._listener.start()
        self._updates = KeyUpdateListener(infra.nc, infra.ns, services.cache)
        await self._updates.start()
        overrides = SqlAlchemyOverrideLoader(infra.require_engine())
        self._tasks = [
            asyncio.create_task(self._listener.watch(self._stop), name="key-cache-watchdog"),
            asyncio.create_task(self._flush_usage(services), name="key-usage-flush"),
            asyncio.create_task(public.catalogue.run(self._stop), name="catalogue-refresh"),
            asyncio.create_task(BalanceWatcher(infra.nc, infra.ns, public.balances).run(self._stop), name="balances"),
            asyncio.create_task(
                keep_loaded(public.limits, overrides.load_all, self._settings.limits_refresh_s, self._stop),
                name="rate-limit-overrides",
            ),
        ]
        infra.checks["catalog"] = public.catalogue.check
        infra.checks["balances"] = _loaded_check(public.balances)
        self._public = public
        app.state.gateway = services

    async def stop(self, app: Litestar) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._public is not None:
            await self._public.settlements.drain()
        if self._listener is not None:
            await self._listener.close()
        if self._updates is not None:
            await self._updates.close()

    async def _flush_usage(self, services: GatewayServices) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self._settings.key_usage_flush_s)
            used = services.usage.drain()
            if not used:
                continue
            try:
                await services.store.touch_keys(used, utc_now())
            except Exception:
                log.warning("could not record key usage; dropped %d marks", len(used), exc_info=True)


def _loaded_check(balances: BalanceBook) -> Callable[[], Awaitable[None]]:
    async def check() -> None:
        if not balances.is_loaded():
            raise RuntimeError("the balances bucket has not been loaded yet")

    return check
