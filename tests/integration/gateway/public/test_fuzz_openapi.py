"""Schemathesis over the gateway's published OpenAPI document (public routes) and its admin routes, in-process.

Cases are generated first (hypothesis, bounded, no shrinking database) and then sent through the app's own ASGI
stack with a real key and the admin key, against real Postgres, NATS and Redis. Every answer must be below 500
(the owners of forwarded routes, billing, analytics and error_monitor, are not running here, so those routes
may answer the clean 503 ``service_unavailable`` their forwarding documents) and every 4xx must have its
route's JSON error shape.
"""

from __future__ import annotations

import contextlib
import copy
from typing import Any

import httpx2
import msgspec
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from litestar import Litestar
from litestar._openapi.datastructures import OpenAPIContext
from litestar._openapi.path_item import create_path_item_for_route
from litestar.routes import HTTPRoute
from nats.js.kv import KeyValue
from schemathesis import GenerationMode
from schemathesis.core.result import Ok

from tests.integration.gateway.conftest import ADMIN
from tests.integration.gateway.public.support import USD, GatewayFactory, open_account

EXAMPLES = 3  # per operation and generation mode: a few hundred requests, well under a minute in all
# ``/ak/{key}/...`` reaches the same handlers once the edge moved the key out; the hot routes are sampled there.
PATH_KEY_SAMPLES = ("/ak/{key}/v1/chat/completions", "/ak/{key}/v1/messages", "/ak/{key}/v1/models")
CLIENT_ERROR, SERVER_ERROR, UNAVAILABLE = 400, 500, 503
# Relayed byte for byte from the router (here the test's fake router, which has no such routes).
RELAYED_AS_IS = ("/admin/v1/circuit-breakers", "/admin/v1/catalog")
Case = Any  # schemathesis.Case; its attributes are what is used here


def _collect(schema: Any) -> list[tuple[str, Case]]:
    """``EXAMPLES`` positive and negative cases of every operation (negative ones only where they exist)."""
    cases: list[tuple[str, Case]] = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        if operation.path.startswith("/ak/") and operation.path not in PATH_KEY_SAMPLES:
            continue
        label = f"{operation.method.upper()} {operation.path}"
        # Invalid input needs something to be invalid: a body or a query (any string is a valid path segment).
        invalid = len(operation.body) > 0 or len(operation.query) > 0
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE) if invalid else (GenerationMode.POSITIVE,):
            cases.extend((label, case) for case in _examples(operation.as_strategy(generation_mode=mode)))
    return cases


def _examples(strategy: Any) -> list[Case]:
    found: list[Case] = []

    @settings(
        max_examples=EXAMPLES,
        database=None,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def collect(case: Case) -> None:
        found.append(case)

    with contextlib.suppress(Unsatisfiable):  # every invalid variant was filtered out; the valid ones still run
        collect()
    return found


def _admin_document(app: Litestar) -> dict[str, Any]:
    """Every Litestar route of the app, those hidden from the public document included (the admin API).

    Litestar builds its document only from routes marked ``include_in_schema``; the same path-item factory is
    applied here to all of them.
    """
    config = app.openapi_config
    assert config is not None
    context = OpenAPIContext(openapi_config=config, plugins=app.plugins.openapi)
    paths: dict[str, Any] = {}
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or not route.path.startswith("/admin/"):
            continue
        for handler, _ in route.route_handler_map.values():
            handler._resolved_include_in_schema = True  # only for this document
        paths[route.path_format] = create_path_item_for_route(context, route).to_schema()
    schemas = {name: s.to_schema() for name, s in context.schema_registry.generate_components_schemas().items()}
    return {
        "openapi": "3.1.0",
        "info": {"title": "admin", "version": "1"},
        "paths": paths,
        "components": {"schemas": schemas},
    }


def _request(case: Case, headers: dict[str, str]) -> dict[str, Any]:
    merged = {**{k: str(v) for k, v in (case.headers or {}).items()}, **headers}
    request: dict[str, Any] = {"method": case.method, "url": case.formatted_path, "headers": merged}
    if case.query:
        request["params"] = case.query
    if case.body is not None and not _is_not_set(case.body):
        media = case.media_type or "application/json"
        merged["content-type"] = media
        body = case.body
        request["content"] = body if isinstance(body, bytes) else msgspec.json.encode(body)
    return request


def _is_not_set(value: object) -> bool:
    return type(value).__name__ == "NotSet"


def _check(label: str, reply: httpx2.Response) -> str | None:
    """Why ``reply`` breaks the rules, or ``None``."""
    path = reply.request.url.path
    if reply.status_code == UNAVAILABLE and _is_clean_unavailable(reply):
        return None  # an owner of a forwarded route is not running here: the documented, retryable answer
    if reply.status_code >= SERVER_ERROR:
        return f"{label}: {reply.status_code} {reply.text[:300]}"
    if reply.status_code < CLIENT_ERROR or path.startswith(RELAYED_AS_IS):
        return None
    if not reply.headers.get("content-type", "").startswith("application/json"):
        return f"{label}: {reply.status_code} is not JSON ({reply.headers.get('content-type')})"
    body = reply.json()
    if path.endswith("/v1/messages"):
        ok = body.get("type") == "error" and isinstance(body.get("error", {}).get("message"), str)
    else:
        error = body.get("error") if isinstance(body, dict) else None
        ok = isinstance(error, dict) and isinstance(error.get("message"), str) and "type" in error
    return None if ok else f"{label}: {reply.status_code} body not in the route's shape: {reply.text[:300]}"


def _is_clean_unavailable(reply: httpx2.Response) -> bool:
    try:
        error = reply.json()["error"]
    except (ValueError, KeyError, TypeError):
        return False
    return isinstance(error, dict) and error.get("code") == "service_unavailable"


async def _run(gateway_client: httpx2.AsyncClient, cases: list[tuple[str, Case]], headers: dict[str, str]) -> list[str]:
    problems = []
    for label, case in cases:
        reply = await gateway_client.request(**_request(case, headers))
        problem = _check(label, reply)
        if problem:
            problems.append(problem)
    return problems


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
    schemathesis.openapi.from_dict(copy.deepcopy(document))  # a valid OpenAPI document
    assert wrong_method.status_code == 405


async def test_fuzzing_every_public_and_admin_route_finds_no_server_error(
    start_gateway: GatewayFactory,
    balances: KeyValue,
) -> None:
    async with start_gateway(rpm=100_000, tpm=10**9, rpd=10**7) as gateway:
        account = await open_account(gateway, balances, 50 * USD)
        public = (await gateway.client.get("/openapi.json")).json()
        public_cases = _collect(schemathesis.openapi.from_dict(public))
        admin_cases = _collect(schemathesis.openapi.from_dict(_admin_document(gateway.app)))
        for _, case in public_cases:
            if case.path_parameters and "key" in case.path_parameters:
                case.path_parameters["key"] = account.key  # the key in the path is a real one
        problems = await _run(gateway.client, public_cases, {"authorization": f"Bearer {account.key}"})
        problems += await _run(gateway.client, admin_cases, ADMIN)

    assert len(public_cases) > 100
    assert len(admin_cases) > 20
    assert problems == [], "\n".join(problems)
