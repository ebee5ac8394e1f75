"""Every route of every internal service turns away unsigned, forged and expired callers; /admin turns away users.

The routes are read off each running app, so a route added later is covered without touching this test. The
gateway is the public edge: its /admin routes take only the admin key.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import msgspec
import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient

from tollway.analytics.app import create_app as analytics_app
from tollway.analytics.settings import AnalyticsSettings
from tollway.billing.app import create_app as billing_app
from tollway.billing.settings import BillingSettings
from tollway.error_monitor.app import create_app as error_monitor_app
from tollway.error_monitor.settings import ErrorMonitorSettings
from tollway.inference_router.app import create_app as router_app
from tollway.inference_router.settings import InferenceRouterSettings
from tollway.platform.identity import IDENTITY_HEADER, Identity, sign_identity
from tollway.platform.messaging import Namespace
from tollway.testing.infra import LocalInfra

SECRET = "route-guard-secret"
OPEN_PATHS = {"/health", "/ready", "/metrics"}  # probes and scrapes, by design unauthenticated
OPEN_PREFIX = "/schema"  # Litestar's OpenAPI document of the service (its shape, no data)
APPS: dict[str, tuple[type[Any], Callable[[Any], Litestar]]] = {
    "inference_router": (InferenceRouterSettings, router_app),
    "billing": (BillingSettings, billing_app),
    "analytics": (AnalyticsSettings, analytics_app),
    "error_monitor": (ErrorMonitorSettings, error_monitor_app),
}
HOT_ROUTES = {"inference_router": [("POST", "/internal/v1/chat")]}


def _headers(case: str) -> dict[str, str]:
    user = Identity(request_id="req-guard", role="user", user_id="usr_guard", account_id="usr_guard")
    if case == "missing":
        return {}
    if case == "unsigned":
        return {IDENTITY_HEADER: sign_identity(user, SECRET.encode())[IDENTITY_HEADER]}
    if case == "forged":
        return sign_identity(msgspec.structs.replace(user, role="admin"), b"not-the-secret")
    if case == "expired":
        return sign_identity(user, SECRET.encode(), ttl_s=-1)
    return sign_identity(user, SECRET.encode())  # "user": valid, but not an admin


def _routes(app: Litestar, service: str) -> list[tuple[str, str]]:
    found = [
        (method, re.sub(r"\{[^}:]+:int\}", "1", re.sub(r"\{[^}:]+(:(str|uuid|path))?\}", "x1", route.path)))
        for route in app.routes
        if isinstance(route, HTTPRoute) and route.path not in OPEN_PATHS and not route.path.startswith(OPEN_PREFIX)
        for method in sorted(route.methods - {"HEAD", "OPTIONS"})
    ]
    return found + HOT_ROUTES.get(service, [])


@pytest.fixture(params=sorted(APPS))
async def service_client(
    request: pytest.FixtureRequest, database_url: str, test_infra: LocalInfra, namespace: Namespace, nc: Any
) -> AsyncIterator[tuple[str, AsyncTestClient[Litestar]]]:
    service: str = request.param
    settings_type, create_app = APPS[service]
    settings = settings_type(
        database_url=database_url,
        nats_url=test_infra.nats_url,
        redis_url=test_infra.redis_url,
        namespace=namespace.prefix,
        internal_secret=SECRET,
    )
    async with AsyncTestClient(create_app(settings)) as client:
        yield service, client


async def test_every_internal_route_rejects_callers_without_a_valid_signature(
    service_client: tuple[str, AsyncTestClient[Litestar]],
) -> None:
    service, client = service_client
    routes = _routes(client.app, service)
    wrong: list[str] = []
    for method, path in routes:
        for case in ("missing", "unsigned", "forged", "expired"):
            response = await client.request(method, path, headers=_headers(case), json={})
            if response.status_code != 401 or "error" not in response.json():
                wrong.append(f"{method} {path} [{case}] -> {response.status_code}")
    assert wrong == []


async def test_every_admin_route_rejects_a_signed_user(service_client: tuple[str, AsyncTestClient[Litestar]]) -> None:
    service, client = service_client
    admin_routes = [(m, p) for m, p in _routes(client.app, service) if p.startswith("/admin")]
    wrong = []
    for method, path in admin_routes:
        response = await client.request(method, path, headers=_headers("user"), json={})
        if response.status_code != 403 or "error" not in response.json():
            wrong.append(f"{method} {path} -> {response.status_code}")
    assert wrong == []
