"""Schemathesis over the gateway's published OpenAPI document (public routes) and its admin routes, in-process.

Cases are generated first (hypothesis, bounded, no example database) and then sent through the app's own ASGI
stack with a real key and the admin key, against real Postgres, NATS and Redis. Every answer must be below 500
(the owners of forwarded routes, billing, analytics and error_monitor, are not running here, so those routes
may answer the clean 503 ``service_unavailable`` their forwarding documents) and every 4xx must have its
route's JSON error shape.
"""

from __future__ import annotations

import copy

import schemathesis
from nats.js.kv import KeyValue

from tests.integration.fuzzing import collect, litestar_document, problems_of
from tests.integration.gateway.conftest import ADMIN
from tests.integration.gateway.public.support import USD, GatewayFactory, open_account
from tollway.gateway.domain.native_envelopes import NATIVE_ROUTES

# ``/ak/{key}/...`` reaches the same handlers once the edge moved the key out; the hot routes are sampled there.
PATH_KEY_SAMPLES = ("/ak/{key}/v1/chat/completions", "/ak/{key}/v1/messages", "/ak/{key}/v1/models")
# Relayed byte for byte from the router (here the test's fake router, which lacks most of its routes).
RELAYED_AS_IS = ("/admin/v1/circuit-breakers", "/admin/v1/catalog", "/v1/router/")


async def test_the_published_document_describes_the_hot_routes(start_gateway: GatewayFactory) -> None:
    async with start_gateway(wait_ready=False) as gateway:
        reply = await gateway.client.get("/openapi.json")
        wrong_method = await gateway.client.post("/openapi.json")

    assert reply.status_code == 200
    document = reply.json()
    for path in ("/v1/chat/completions", "/v1/messages", "/v1/models", "/ak/{key}/v1/chat/completions"):
        assert path in document["paths"], path
    chat = document["paths"]["/v1/messages"]["post"]
    assert chat["responses"]["400"]["content"]["application/json"]["schema"]["$ref"].endswith("AnthropicError")
    assert {"bearer", "x-api-key"} <= set(document["components"]["securitySchemes"])
    for template, route in NATIVE_ROUTES.items():  # served before Litestar by a path pattern: described here
        operation = document["paths"][template]["post"]
        error = "GeminiError" if route.api == "gemini" else "BedrockError"
        assert operation["responses"]["403"]["content"]["application/json"]["schema"]["$ref"].endswith(error)
        path_names = [p["name"] for p in operation["parameters"] if p["in"] == "path"]
        assert path_names == (["model"] if route.api == "gemini" else ["modelId"])
        assert operation["requestBody"]["required"] is True
    schemathesis.openapi.from_dict(copy.deepcopy(document))  # a valid OpenAPI document
    assert wrong_method.status_code == 405


async def test_fuzzing_every_public_and_admin_route_finds_no_server_error(
    start_gateway: GatewayFactory, balances: KeyValue
) -> None:
    async with start_gateway(rpm=100_000, tpm=10**9, rpd=10**7) as gateway:
        account = await open_account(gateway, balances, 50 * USD)
        public = (await gateway.client.get("/openapi.json")).json()
        public_cases = collect(
            schemathesis.openapi.from_dict(public), skip=lambda p: p.startswith("/ak/") and p not in PATH_KEY_SAMPLES
        )
        admin = litestar_document(gateway.app, keep=lambda path: path.startswith("/admin/"))
        admin_cases = collect(schemathesis.openapi.from_dict(admin))
        for _, case in public_cases:
            if case.path_parameters and "key" in case.path_parameters:
                case.path_parameters["key"] = account.key  # the key in the path is a real one
        bearer = {"authorization": f"Bearer {account.key}"}
        statuses: list[int] = []
        send = gateway.client.request
        problems = await problems_of(
            send, public_cases, bearer, relayed=RELAYED_AS_IS, statuses=statuses, stand_in=True
        )
        problems += await problems_of(send, admin_cases, ADMIN, relayed=RELAYED_AS_IS, statuses=statuses, stand_in=True)

    assert len(public_cases) > 100
    assert len(admin_cases) > 20
    assert problems == [], "\n".join(problems)
    assert sum(status not in (401, 403) for status in statuses) > len(statuses) // 2  # past authentication
