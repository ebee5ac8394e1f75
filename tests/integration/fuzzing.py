"""Schemathesis cases from an OpenAPI document, sent through an app in-process, and the rules every answer obeys."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from typing import Any

import httpx2
import msgspec
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from litestar import Litestar
from litestar._openapi.datastructures import OpenAPIContext
from litestar._openapi.path_item import create_path_item_for_route
from litestar.routes import HTTPRoute
from schemathesis import GenerationMode
from schemathesis.core.result import Ok

EXAMPLES = 2  # per operation and generation mode: a few hundred requests in all, under a minute of CPU
CLIENT_ERROR, SERVER_ERROR, UNAVAILABLE = 400, 500, 503
PROBES = ("/health", "/ready", "/metrics", "/schema")
GEMINI_METHODS = (":generateContent", ":streamGenerateContent")  # Google's {"error": {"code", "message", "status"}}
BEDROCK_OPERATIONS = ("/converse", "/converse-stream")  # AWS's {"message"} + x-amzn-ErrorType
STAND_IN_404 = "404: Not Found"  # aiohttp's answer to a path it has no route for
Case = Any  # schemathesis.Case; its method, formatted_path, headers, query, body and media_type are used here
Request = Callable[..., Any]


def collect(schema: Any, skip: Callable[[str], bool] = lambda _: False) -> list[tuple[str, Case]]:
    """``EXAMPLES`` valid and invalid cases of every operation (invalid ones where a body or query can be)."""
    cases: list[tuple[str, Case]] = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        if skip(operation.path):
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
    def draw(case: Case) -> None:
        found.append(case)

    with contextlib.suppress(Unsatisfiable):  # every invalid variant was filtered out; the valid ones still run
        draw()
    return found


def litestar_document(app: Litestar, keep: Callable[[str], bool]) -> dict[str, Any]:
    """The routes ``keep`` selects, those hidden from the app's own document (admin, internal) included.

    Litestar builds its document only from routes marked ``include_in_schema``; the same path-item factory is
    applied here to every selected route.
    """
    config = app.openapi_config
    assert config is not None
    context = OpenAPIContext(openapi_config=config, plugins=app.plugins.openapi)
    paths: dict[str, Any] = {}
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or route.path.startswith(PROBES) or not keep(route.path):
            continue
        for handler, _ in route.route_handler_map.values():
            handler._resolved_include_in_schema = True  # only for this document
        paths[route.path_format] = create_path_item_for_route(context, route).to_schema()
    schemas = {name: s.to_schema() for name, s in context.schema_registry.generate_components_schemas().items()}
    return {
        "openapi": "3.1.0",
        "info": {"title": "all", "version": "1"},
        "paths": paths,
        "components": {"schemas": schemas},
    }


def request_of(case: Case, headers: dict[str, str]) -> dict[str, Any]:
    """``httpx``-style keyword arguments for ``case``, with ``headers`` (credentials) winning over its own."""
    merged = {**{k: str(v) for k, v in (case.headers or {}).items()}, **headers}
    request: dict[str, Any] = {"method": case.method, "url": case.formatted_path, "headers": merged}
    if case.query:
        request["params"] = case.query
    if case.body is not None and type(case.body).__name__ != "NotSet":
        merged["content-type"] = case.media_type or "application/json"
        request["content"] = case.body if isinstance(case.body, bytes) else msgspec.json.encode(case.body)
    return request


async def problems_of(
    send: Request,
    cases: Iterable[tuple[str, Case]],
    headers: dict[str, str],
    *,
    relayed: tuple[str, ...] = (),
    statuses: list[int] | None = None,
    stand_in: bool = False,
) -> list[str]:
    """Send every case; what broke the rules (``relayed`` paths answer with another service's bytes unchecked).

    ``stand_in``: the app forwards to a test stand-in (an aiohttp app) that lacks some routes; its plain
    ``404: Not Found`` is relayed as it came and is not the app's own answer.

    ``statuses`` collects every status seen, so a test can check that the cases got past authentication.
    """
    problems = []
    for label, case in cases:
        reply = await send(**request_of(case, headers))
        if statuses is not None:
            statuses.append(reply.status_code)
        problem = None if stand_in and reply.text == STAND_IN_404 else check(label, reply, relayed)
        if problem:
            problems.append(problem)
    return problems


def check(label: str, reply: httpx2.Response | Any, relayed: tuple[str, ...] = ()) -> str | None:
    """Why ``reply`` breaks the rules (no 5xx but a clean 503; a 4xx in its route's JSON shape), or ``None``."""
    path = reply.request.url.path
    if reply.status_code == UNAVAILABLE and _is_clean_unavailable(reply):
        return None  # a dependency not running here or a feature not configured: a documented answer
    if reply.status_code >= SERVER_ERROR:
        return f"{label}: {reply.status_code} {reply.text[:300]}"
    if reply.status_code < CLIENT_ERROR or (relayed and path.startswith(relayed)):
        return None
    if not reply.headers.get("content-type", "").startswith("application/json"):
        return f"{label}: {reply.status_code} is not JSON ({reply.headers.get('content-type')})"
    ok = _in_route_shape(path, reply)
    return None if ok else f"{label}: {reply.status_code} body not in the route's shape: {reply.text[:300]}"


def _in_route_shape(path: str, reply: Any) -> bool:
    """An error body in its API's shape: Anthropic's, Gemini's, Bedrock's (named in a header), else OpenAI's."""
    body = reply.json()
    if not isinstance(body, dict):
        return False
    error = body.get("error")
    detail: dict[str, Any] = error if isinstance(error, dict) else {}
    has_message = isinstance(detail.get("message"), str)
    if path.endswith("/v1/messages") or reply.request.headers.get("x-tollway-api") == "anthropic":
        return body.get("type") == "error" and has_message
    if path.endswith(GEMINI_METHODS):
        return has_message and isinstance(detail.get("status"), str)
    if "/model/" in path and path.endswith(BEDROCK_OPERATIONS):
        return isinstance(body.get("message"), str) and bool(reply.headers.get("x-amzn-errortype"))
    return has_message and "type" in detail


def _is_clean_unavailable(reply: Any) -> bool:
    try:
        error = reply.json()["error"]
    except (ValueError, KeyError, TypeError):
        return False
    # A 503 is always a deliberate answer (the last-resort handler answers 500): a dependency not running here, or
    # a feature not configured; it only has to be in the error shape.
    return isinstance(error, dict) and isinstance(error.get("message"), str)
