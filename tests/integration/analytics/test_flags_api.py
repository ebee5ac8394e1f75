"""Feature flags through the app on real Postgres: global values, per-account overrides, admin only."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from nats.aio.client import Client as NatsClient

from tollway.analytics.app import create_app
from tollway.analytics.settings import AnalyticsSettings
from tollway.platform.identity import Identity, Role, sign_identity
from tollway.platform.messaging import Namespace
from tollway.testing.infra import LocalInfra

SECRET = "analytics-flags-secret"
Client = AsyncTestClient[Litestar]


def signed(role: Role = "admin") -> dict[str, str]:
    return sign_identity(Identity(request_id="req-test", role=role, user_id="u1"), SECRET.encode())


@pytest.fixture
async def client(
    database_url: str, test_infra: LocalInfra, namespace: Namespace, nc: NatsClient
) -> AsyncIterator[Client]:
    settings = AnalyticsSettings(
        database_url=database_url, nats_url=test_infra.nats_url, namespace=namespace.prefix, internal_secret=SECRET
    )
    async with AsyncTestClient(create_app(settings)) as started:
        yield started


async def test_global_values_and_account_overrides(client: Client) -> None:
    put = await client.put("/admin/v1/flags/usage_import.openai", json={"enabled": True}, headers=signed())
    assert put.status_code == 200, put.text
    assert (put.json()["enabled"], put.json()["account_id"], put.json()["updated_by"]) == (True, None, "admin:admin")
    off = {"enabled": False, "account_id": "acct_1", "updated_by": "ops"}
    assert (await client.put("/admin/v1/flags/usage_import.openai", json=off, headers=signed())).status_code == 200
    on_again = {"enabled": False}
    assert (await client.put("/admin/v1/flags/beta", json=on_again, headers=signed())).status_code == 200

    listed = (await client.get("/admin/v1/flags", headers=signed())).json()
    assert [(f["name"], f["account_id"], f["enabled"]) for f in listed["data"]] == [
        ("beta", None, False),
        ("usage_import.openai", None, True),
        ("usage_import.openai", "acct_1", False),
    ]
    assert listed["effective"] is None
    seen = (await client.get("/admin/v1/flags", params={"account_id": "acct_1"}, headers=signed())).json()
    assert seen["effective"] == [
        {"name": "beta", "enabled": False, "source": "global"},
        {"name": "usage_import.openai", "enabled": False, "source": "account"},
    ]
    other = (await client.get("/admin/v1/flags", params={"account_id": "acct_2"}, headers=signed())).json()
    assert [f["enabled"] for f in other["effective"]] == [False, True]


async def test_bad_flags_and_callers_are_refused(client: Client) -> None:
    assert (await client.get("/admin/v1/flags")).status_code == 401
    assert (await client.put("/admin/v1/flags/x", json={"enabled": True}, headers=signed("user"))).status_code == 403
    bad_name = await client.put("/admin/v1/flags/Not%20OK", json={"enabled": True}, headers=signed())
    assert (bad_name.status_code, bad_name.json()["error"]["param"]) == (422, "name")
    bad_body = await client.put("/admin/v1/flags/x", json={"enabled": "maybe"}, headers=signed())
    assert bad_body.status_code == 422
    assert bad_body.json()["error"]["type"] == "invalid_request_error"
