"""Gemini's and Bedrock Runtime's own public routes, so google-genai and botocore can point at Tollway.

``POST /v1beta/models/{model}:generateContent`` / ``:streamGenerateContent?alt=sse`` (and the same under ``/v1``),
``POST /model/{modelId}/converse`` / ``converse-stream``. Served like chat (raw ASGI before Litestar): the same key
check, rate limits, credit hold, forwarding to the router's chat path and settlement, so each request costs
exactly one usage event; refusals are in each API's own error shape.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any
from urllib.parse import parse_qsl, urlencode

import msgspec

from tollway.gateway.api.auth import key_from_headers
from tollway.gateway.api.edge import PATH_KEY
from tollway.gateway.api.exchange import Scope, read_body, request_headers
from tollway.gateway.api.public import _caller, _client_hash, _services, admit_call
from tollway.gateway.api.relay import admit_then_forward
from tollway.gateway.bootstrap import PublicServices
from tollway.gateway.domain.admission import Admitted, ChatCall
from tollway.gateway.domain.ids import new_request_id
from tollway.gateway.domain.native_envelopes import (
    NATIVE_ROUTES,
    NativeRoute,
    forwarded_body,
    output_cap,
    sigv4_access_key,
)
from tollway.gateway.domain.rejections import (
    BadRequestError,
    InternalError,
    InvalidApiKeyError,
    MethodNotAllowedError,
)
from tollway.gateway.domain.route_envelopes import RouteEnvelope, chat_shaped
from tollway.platform.hot_path import hot_request

log = logging.getLogger(__name__)
_MISSING_KEY = {
    "gemini": "missing API key: send `x-goog-api-key: <Tollway key>` (or `?key=<Tollway key>`)",
    "bedrock": "missing API key: sign with the Tollway key as the AWS access key id, or send `Authorization: Bearer`",
}


async def serve_native(scope: Any, receive: Any, send: Any, route: NativeRoute) -> None:
    headers = request_headers(scope)
    with hot_request("gateway", route.name, headers) as outcome:
        outcome.status = await _serve(scope, receive, send, route, headers)


# Served before Litestar (tollway.platform.hot_path.DirectRoutes), matched on the whole path.
NATIVE_HOT_PATTERNS = [(route.pattern, partial(serve_native, route=route)) for route in NATIVE_ROUTES.values()]


async def _serve(scope: Scope, receive: Any, send: Any, route: NativeRoute, headers: dict[str, str]) -> int:
    request_id = new_request_id()
    services = _services(scope)

    async def admit() -> Admitted:
        return await _admit(scope, receive, headers, services, route, request_id=request_id)

    return await admit_then_forward(
        receive, send, services=services, headers=headers, api=route.api, request_id=request_id, admit=admit
    )


async def _admit(
    scope: Scope,
    receive: Any,
    headers: dict[str, str],
    services: PublicServices,
    route: NativeRoute,
    *,
    request_id: str,
) -> Admitted:
    """Chat's admission on a chat-shaped stand-in of the body; the router gets the body with the path's model."""
    if scope["method"] != "POST":
        raise MethodNotAllowedError("use POST")
    model = route.pattern.fullmatch(scope["path"])
    if model is None:  # DirectRoutes matched this pattern; a defect if not
        raise InternalError("the route did not match its own path")
    key = _presented_key(scope, headers, route)
    if key is None and not services.settings.anonymous_enabled:
        raise InvalidApiKeyError(_MISSING_KEY[route.api])
    if route.api == "gemini" and route.stream and _query(scope).get("alt") != "sse":
        raise BadRequestError("streamGenerateContent is served as server-sent events only: add `?alt=sse`", "alt")
    identity = await _caller(scope, headers, services, key)
    body = await read_body(headers, receive, services.settings.max_body_bytes)
    cap = output_cap(route.api, body)
    name = model.group("model")
    forwarded = forwarded_body(name, stream=route.stream, body=body)
    client = _client_hash(scope) if identity is None else ""
    call = ChatCall(request_id=request_id, api=route.api, body=forwarded, identity=identity, client=client)
    stand_in = chat_shaped(RouteEnvelope(model=name), stream=route.stream, cap=cap, size=len(body))
    admitted = await admit_call(scope, services, msgspec.structs.replace(call, body=stand_in))
    return msgspec.structs.replace(admitted, call=call, stream=route.stream)


def _presented_key(scope: Scope, headers: dict[str, str], route: NativeRoute) -> str | None:
    """The ``/ak/{key}`` path first; then Gemini's ``x-goog-api-key`` / ``?key=`` or a SigV4 access key id."""
    if scope.get(PATH_KEY):
        return str(scope[PATH_KEY])
    if route.api == "gemini":
        native = headers.get("x-goog-api-key") or _query_key(scope)
    else:
        native = sigv4_access_key(headers.get("authorization", ""))
    return native or key_from_headers(scope, headers)


def _query(scope: Scope) -> dict[str, str]:
    return dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))


def _query_key(scope: Scope) -> str | None:
    """``?key=``, then taken out of the scope so nothing later (spans, logs) can record it."""
    query = _query(scope)
    key = query.pop("key", None)
    if key is not None:
        scope["query_string"] = urlencode(query).encode("latin-1")
    return key or None
