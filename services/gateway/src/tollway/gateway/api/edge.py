"""The outermost ASGI layer: ``/ak/{key}`` paths lose their key, and the public routes get the server's receive."""

from __future__ import annotations

from typing import Any, cast

from litestar.types import ASGIApp, Receive, Scope, Send

PATH_KEY = "tollway.path_key"  # the scope entry that carries the key from here to authentication
RAW_RECEIVE = "tollway.raw_receive"  # the server's own ``receive``, before any middleware wrapped it
_PREFIX = "/ak/"


class Edge:
    """Wraps the app's ASGI handler, outside the OpenTelemetry middleware (which names spans after the raw path).

    ``/ak/<key>/v1/chat/completions`` becomes ``/v1/chat/completions`` with the key in ``scope[PATH_KEY]``, so
    spans, the Prometheus ``path`` label, access and error logs all show the same route as a header-keyed call.

    The public routes read their body and wait for a disconnect through ``scope[RAW_RECEIVE]``: the tracing
    middleware opens a span around every ``receive`` call, which cost more than the rest of the body handling
    (measured with py-spy) and only adds noise under the request's own span.
    """

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        entries = cast("dict[str, Any]", scope)
        path: str = entries.get("path", "")
        if path.startswith(_PREFIX):
            key, _, rest = path[len(_PREFIX) :].partition("/")
            entries["path"] = "/" + rest
            entries["raw_path"] = entries["path"].encode()
            entries[PATH_KEY] = key
        entries[RAW_RECEIVE] = receive
        await self._app(scope, receive, send)
