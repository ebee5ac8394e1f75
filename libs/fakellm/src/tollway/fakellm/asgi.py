"""The raw ASGI 3 application: lifespan, and a routing table from (path, method) to handlers."""

from collections.abc import Awaitable, Callable
from functools import partial

from tollway.fakellm import admin_usage, anthropic_api, azure_api, bedrock_api, embeddings_api, gemini_api, openai_api
from tollway.fakellm.errors import provider_for_path
from tollway.fakellm.exchange import Incoming
from tollway.fakellm.recording import RECORDER
from tollway.fakellm.responses import Receive, Scope, Send, read_body, send_error, send_json
from tollway.fakellm.served_usage import SERVED
from tollway.fakellm.settings import default_controls

Route = Callable[[Incoming, Send], Awaitable[None]]

DEFAULTS = default_controls()


async def _health(incoming: Incoming, send: Send) -> None:
    await send_json(send, 200, b'{"status":"ok"}')


async def _models(incoming: Incoming, send: Send) -> None:
    await openai_api.models(send)


async def _stats(incoming: Incoming, send: Send) -> None:
    await send_json(send, 200, RECORDER.stats())


async def _last_requests(incoming: Incoming, send: Send) -> None:
    await send_json(send, 200, RECORDER.last_requests())


async def _reset(incoming: Incoming, send: Send) -> None:
    RECORDER.reset()
    SERVED.reset()
    await send_json(send, 200, b'{"reset":true}')


ROUTES: dict[str, dict[str, Route]] = {
    "/v1/chat/completions": {"POST": partial(openai_api.chat_completions, defaults=DEFAULTS)},
    "/v1/messages": {"POST": partial(anthropic_api.messages, defaults=DEFAULTS)},
    "/v1/embeddings": {"POST": partial(embeddings_api.embeddings, defaults=DEFAULTS)},
    "/v1/models": {"GET": _models},
    "/health": {"GET": _health},
    "/_fakellm/stats": {"GET": _stats},
    "/_fakellm/requests": {"GET": _last_requests},
    "/_fakellm/reset": {"POST": _reset},
}


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "http":
        await _serve_http(scope, receive, send)
    elif scope["type"] == "lifespan":
        await _serve_lifespan(receive, send)


async def _serve_http(scope: Scope, receive: Receive, send: Send) -> None:
    path: str = scope["path"]
    if path in admin_usage.PATHS:  # reads its query string, which ``Incoming`` does not carry
        await admin_usage.serve(scope, receive, send)
        return
    methods = ROUTES.get(path)
    if methods is None and scope["method"] == "POST" and await _serve_prefixed(scope, receive, send):
        return
    if methods is None:
        await send_error(send, provider_for_path(path), 404, f"fakellm: no route for {path}")
        return
    route = methods.get(scope["method"])
    if route is None:
        await send_error(send, provider_for_path(path), 405, f"fakellm: {scope['method']} not allowed on {path}")
        return
    body = await read_body(receive) if scope["method"] == "POST" else b""
    await route(Incoming(path, scope["headers"], body, receive), send)


async def _serve_prefixed(scope: Scope, receive: Receive, send: Send) -> bool:
    """The APIs whose model or deployment is part of the path (Bedrock, Gemini, Azure); ``False`` if none matches."""
    path: str = scope["path"]
    if path.startswith(bedrock_api.PATH_PREFIX):
        raw_path: bytes = scope.get("raw_path") or path.encode()
        incoming = Incoming(path, scope["headers"], await read_body(receive), receive)
        await bedrock_api.converse(incoming, send, raw_path, DEFAULTS)
    elif gemini_api.route_for(path) is not None:
        incoming = Incoming(path, scope["headers"], await read_body(receive), receive)
        await gemini_api.generate(incoming, send, DEFAULTS)
    elif path.startswith(azure_api.PATH_PREFIX):
        incoming = Incoming(path, scope["headers"], await read_body(receive), receive)
        await azure_api.serve(incoming, send, scope.get("query_string", b""), DEFAULTS)
    else:
        return False
    return True


async def _serve_lifespan(receive: Receive, send: Send) -> None:
    # Nothing to start or stop; answering lifespan keeps servers from warning about it.
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
