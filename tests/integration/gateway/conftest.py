"""Gateway apps on real Postgres/NATS/Redis: settings, a test client, a whoami route and a query counter."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest
from litestar import Litestar, get
from litestar.di import NamedDependency, Provide
from litestar.testing import AsyncTestClient
from nats.aio.client import Client as NatsClient
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from tollway.gateway.api.auth import provide_identity
from tollway.gateway.api.errors import EXCEPTION_HANDLERS
from tollway.gateway.app import create_app
from tollway.gateway.bootstrap import GatewayServices
from tollway.gateway.db.uow import SqlAlchemyAccountStore
from tollway.gateway.domain.identity import Identity
from tollway.gateway.settings import GatewaySettings
from tollway.platform.messaging import Namespace
from tollway.testing.infra import LocalInfra

ADMIN_KEY = "test-admin-key-0123456789abcdef"
PEPPER = "integration-test-pepper"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}

Client = AsyncTestClient[Litestar]
ClientFactory = Callable[..., AbstractAsyncContextManager[Client]]


@get("/test/whoami", dependencies={"identity": Provide(provide_identity)}, exception_handlers=EXCEPTION_HANDLERS)
async def whoami(identity: NamedDependency[Identity]) -> dict[str, Any]:
    """A stand-in for the lead's client routes: authenticated by the same dependency."""
    return {"user_id": identity.user_id, "api_key_id": identity.api_key_id}


class QueryCounter:
    """Counts statements the engine sends to Postgres."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.count = 0
        event.listen(engine.sync_engine, "before_cursor_execute", self._on_execute)

    def _on_execute(self, *args: object) -> None:
        self.count += 1


@pytest.fixture
def settings(database_url: str, test_infra: LocalInfra, namespace: Namespace) -> GatewaySettings:
    return GatewaySettings(
        database_url=database_url,
        nats_url=test_infra.nats_url,
        redis_url=test_infra.redis_url,
        namespace=namespace.prefix,
        admin_key=ADMIN_KEY,
        key_pepper=PEPPER,
    )


@pytest.fixture
def gateway(settings: GatewaySettings, nc: NatsClient) -> ClientFactory:
    """Start a gateway app (several may run at once, each with its own cache); ``nc`` cleans the streams up."""

    @asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[Client]:
        app = create_app(GatewaySettings(**{**_fields(settings), **overrides}))
        app.register(whoami)
        async with AsyncTestClient(app) as client:
            yield client

    return start


@pytest.fixture
async def client(gateway: ClientFactory) -> AsyncIterator[Client]:
    async with gateway() as started:
        yield started


@pytest.fixture
def store(engine: AsyncEngine) -> SqlAlchemyAccountStore:
    return SqlAlchemyAccountStore(engine)


def services(client: Client) -> GatewayServices:
    found: GatewayServices = client.app.state.gateway
    return found


def app_engine(client: Client) -> AsyncEngine:
    return client.app.state.infra.require_engine()  # type: ignore[no-any-return]


def _fields(settings: GatewaySettings) -> dict[str, Any]:
    return {name: getattr(settings, name) for name in settings.__struct_fields__}
