"""Public inference routes beside chat: ``/v1/responses``, ``/v1/completions``, ``/v1/embeddings``, the AI SDK chat.

Each is served like ``/v1/chat/completions`` (raw ASGI before Litestar): the same key check, rate limits, credit
hold, forwarding to the router's chat path (``x-tollway-api`` names the format) and settlement, so each request
costs exactly one usage event. ``GET /v1/models/{id}`` answers one catalogue entry.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any, cast

import msgspec
from litestar import Request, Response, get
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath

from tollway.gateway.api.exchange import Scope, read_body, request_headers
from tollway.gateway.api.public import _caller, _client_hash, _services, admit_call
from tollway.gateway.api.public_errors import error_body
from tollway.gateway.api.relay import admit_then_forward
from tollway.gateway.bootstrap import PublicServices
from tollway.gateway.domain.admission import Admitted, ChatCall
from tollway.gateway.domain.ids import new_request_id
from tollway.gateway.domain.rejections import (
    MethodNotAllowedError,
    ModelNotFoundError,
    PublicError,
    ServiceUnavailableError,
)
from tollway.gateway.domain.route_envelopes import (
    LEGACY_DEFAULT_MAX_TOKENS,
    PublicRoute,
    chat_shaped,
    decode_route_envelope,
)
from tollway.platform.hot_path import hot_request

log = logging.getLogger(__name__)
JSON = "application/json"
AI_SDK = PublicRoute(api="ai_sdk", name="ai_sdk_chat", streams_by_default=True)
ROUTES: dict[str, PublicRoute] = {
    "/v1/responses": PublicRoute(api="openai_responses", name="responses"),
    "/v1/completions": PublicRoute(api="openai_completions", name="completions", default_cap=LEGACY_DEFAULT_MAX_TOKENS),
    "/v1/embeddings": PublicRoute(api="openai_embeddings", name="embeddings", emits_output=False),
    "/api/chat/ai-sdk": AI_SDK,
    "/api/chat/ai-sdk-completions": AI_SDK,  # the seed system's alias of the same route
}
_encoder = msgspec.json.Encoder()


async def serve_route(scope: Any, receive: Any, send: Any, route: PublicRoute) -> None:
    headers = request_headers(scope)
    with hot_request("gateway", route.name, headers) as outcome:
        outcome.status = await _serve(scope, receive, send, route, headers)


# Served before Litestar (tollway.platform.hot_path.DirectRoutes), like the chat routes.
INFERENCE_HOT_ROUTES = {path: partial(serve_route, route=route) for path, route in ROUTES.items()}


async def _serve(scope: Scope, receive: Any, send: Any, route: PublicRoute, headers: dict[str, str]) -> int:
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
    route: PublicRoute,
    *,
    request_id: str,
) -> Admitted:
    """Chat's admission on a chat-shaped stand-in of the body; what is forwarded is the client's body."""
    if scope["method"] != "POST":
        raise MethodNotAllowedError("use POST")
    identity = await _caller(scope, headers, services)
    body = await read_body(headers, receive, services.settings.max_body_bytes)
    envelope, stream, cap = decode_route_envelope(body, route)
    client = _client_hash(scope) if identity is None else ""
    call = ChatCall(request_id=request_id, api=route.api, body=body, identity=identity, client=client)
    stand_in = msgspec.structs.replace(call, body=chat_shaped(envelope, stream=stream, cap=cap, size=len(body)))
    admitted = await admit_call(scope, services, stand_in)
    return msgspec.structs.replace(admitted, call=call, stream=stream)


@get("/v1/models/{model_id:path}")
async def model_by_id(request: Request[Any, Any, Any], model_id: FromPath[str]) -> Response[bytes]:
    """``GET /v1/models/{model}``: one model of the cached catalogue (an alias finds its model), else 404."""
    request_id = new_request_id()
    scope = cast("Scope", request.scope)
    services = _services(scope)
    name = model_id.lstrip("/")
    try:
        await _caller(scope, request_headers(scope), services)
        catalogue = services.catalogue.current()
        if catalogue is None:
            raise ServiceUnavailableError("the model catalogue is not loaded yet; please retry shortly")
        model = catalogue.find(name)
        if model is None:
            raise ModelNotFoundError(name)
    except PublicError as error:
        headers = {"x-request-id": request_id, **error.headers}
        return Response(error_body("openai", error), status_code=error.status, media_type=JSON, headers=headers)
    body = {
        "id": model.id,
        "object": "model",
        "created": 0,
        "owned_by": model.owned_by,
        "aliases": list(model.aliases),
        "context_window": model.context_window,
        "max_output_tokens": model.max_output_tokens,
        "pricing": model.prices,
    }
    return Response(_encoder.encode(body), media_type=JSON, headers={"x-request-id": request_id})


def inference_routes() -> list[HTTPRouteHandler]:
    """The Litestar-served part: the one route with a path parameter (a model id may contain ``/``)."""
    return [model_by_id]
