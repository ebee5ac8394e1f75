"""Schemathesis over every Litestar route of the internal services and the router's hot chat route, in-process.

Each app runs against real Postgres, NATS and Redis; calls carry a signed admin identity, so they reach the
handlers (the guards have their own sweep in ``test_route_guards``). No answer may be a 5xx but a clean 503,
and every 4xx must be the service's JSON error shape (the caller's API shape on the chat route).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import schemathesis
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.integration.fuzzing import collect, litestar_document, problems_of
from tests.integration.services.test_route_guards import APPS, SECRET
from tollway.contracts.internal_api import API_HEADER
from tollway.platform.identity import Identity, sign_identity
from tollway.platform.messaging import Namespace
from tollway.testing.infra import LocalInfra

CHAT_BODY = {
    "type": "object",
    "required": ["model", "messages"],
    "properties": {
        "model": {"type": "string"},
        "messages": {"type": "array", "items": {"type": "object"}},
        "max_tokens": {"type": "integer"},
        "stream": {"type": "boolean"},
    },
}
ROUTER_CHAT = {
    "post": {
        "parameters": [
            {"name": API_HEADER, "in": "header", "required": True, "schema": {"enum": ["openai", "anthropic"]}}
        ],
        "requestBody": {"required": True, "content": {"application/json": {"schema": CHAT_BODY}}},
        "responses": {"200": {"description": "the answer"}},
    }
}


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


async def test_fuzzing_every_route_of_every_service_finds_no_server_error(
    service_client: tuple[str, AsyncTestClient[Litestar]],
) -> None:
    service, client = service_client
    document = litestar_document(client.app, keep=lambda _: True)
    if service == "inference_router":
        document["paths"]["/internal/v1/chat"] = ROUTER_CHAT  # served before Litestar: described here
    cases = collect(schemathesis.openapi.from_dict(document))
    admin = Identity(request_id="req-fuzz", role="admin", user_id="usr_fuzz", account_id="usr_fuzz")
    statuses: list[int] = []
    problems = await problems_of(client.request, cases, sign_identity(admin, SECRET.encode()), statuses=statuses)

    assert len(cases) >= len(document["paths"])
    assert sum(status not in (401, 403) for status in statuses) > len(statuses) // 2  # past the guards
    assert problems == [], "\n".join(problems)
