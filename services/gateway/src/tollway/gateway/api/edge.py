"""The outermost ASGI layer: ``/ak/{key}`` paths lose their key before anything else sees the path."""

from __future__ import annotations

from typing import Any, cast

from litestar.types import ASGIApp, Receive, Scope, Send

from tollway.gateway.api.limit_headers import LimitHeaderSend, presented_key
from tollway.gateway.api.openapi import PATH as OPENAPI_PATH
from tollway.gateway.api.openapi import OpenApiDocument

PATH_KEY = "tollway.path_key"  # the scope entry that carries the key from here to authentication
_PREFIX = "/ak/"
_CLIENT_ROUTES = ("/v1/", "/api/")  # where a client key can authenticate a response (rate-limit headers)


class Edge:
    """Wraps the app's ASGI handler, outside the OpenTelemetry middleware (which names spans after the raw path).

    ``/ak/<key>/v1/chat/completions`` becomes ``/v1/chat/completions`` with the key in ``scope[PATH_KEY]``, so
    spans, the Prometheus ``path`` label, access and error logs all show the same route as a header-keyed call,
    and the chat routes (served before Litestar, ``tollway.platform.hot_path.DirectRoutes``) match exactly.

    Every response to a request with a client key passes ``LimitHeaderSend``, so each route's authenticated
    answers carry the rate-limit headers without each route having to add them.
    """

    def __init__(self, app: ASGIApp) -> None:
        self._app = app
        self._openapi = OpenApiDocument()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        entries = cast("dict[str, Any]", scope)
        path: str = entries.get("path", "")
        if path.startswith(_PREFIX):
            key, _, rest = path[len(_PREFIX) :].partition("/")
            entries["path"] = "/" + rest
            entries["raw_path"] = entries["path"].encode()
            entries[PATH_KEY] = key
        if entries.get("type") == "http" and entries["path"].startswith(_CLIENT_ROUTES):
            client_key = presented_key(entries.get("headers", ()), entries.get(PATH_KEY))
            if client_key is not None:
                send = cast("Send", LimitHeaderSend(entries, send, client_key))
        elif entries.get("path") == OPENAPI_PATH and entries.get("type") == "http":
            # Served here because it describes the hot routes, which only the layer below knows.
            await self._openapi.serve(entries, send, getattr(self._app, "paths", ()))
            return
        await self._app(scope, receive, send)
