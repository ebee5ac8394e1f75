"""Values Postgres cannot store (a NUL in text, a time past year 9999 in UTC) are the caller's 400, never a 500.

The fuzzer finds these now and then; here they are pinned on a route of each internal service.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.integration.services.test_route_guards import APPS, SECRET
from tollway.platform.identity import Identity, sign_identity
from tollway.platform.messaging import Namespace
from tollway.testing.infra import LocalInfra

OPERATOR = Identity(request_id="req-values", role="admin", user_id="usr_a", account_id="usr_a")
CASES = [
    ("billing", "/admin/v1/credits/summary", {"user_id": "usr_\x00"}),
    ("billing", "/admin/v1/credits/summary", {"from": "0001-01-01T00:00:00+23:59"}),
    ("billing", "/admin/v1/credits/summary", {"from": "2026-01-01T00:00:00Z", "to": "9999-12-31T23:59:59-23:59"}),
    ("error_monitor", "/admin/v1/errors/patterns/pat_%00", {}),
    ("analytics", "/admin/v1/requests", {"user_id": "usr_\x00"}),
]


@pytest.fixture
async def clients(
    database_url: str, test_infra: LocalInfra, namespace: Namespace, nc: Any
) -> AsyncIterator[dict[str, AsyncTestClient[Litestar]]]:
    opened: dict[str, AsyncTestClient[Litestar]] = {}
    for service in {service for service, _, _ in CASES}:
        settings_type, create_app = APPS[service]
        settings = settings_type(
            database_url=database_url,
            nats_url=test_infra.nats_url,
            redis_url=test_infra.redis_url,
            namespace=namespace.prefix,
            internal_secret=SECRET,
        )
        opened[service] = await AsyncTestClient(create_app(settings)).__aenter__()
    yield opened
    for client in opened.values():
        await client.__aexit__(None, None, None)


async def test_a_value_postgres_cannot_store_is_a_400_in_the_error_shape(
    clients: dict[str, AsyncTestClient[Litestar]],
) -> None:
    answers = []
    for service, path, params in CASES:
        admin = sign_identity(OPERATOR, SECRET.encode())  # signed now: a signature expires in minutes
        response = await clients[service].get(path, params=params, headers=admin)
        answers.append((service, path, params, response.status_code, response.json()["error"]["type"]))

    assert all(answer[3:] == (400, "invalid_request_error") for answer in answers), answers
