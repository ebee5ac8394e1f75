"""The outermost ASGI layer: ``/ak/{key}`` paths lose their key before anything else sees the path."""

from __future__ import annotations

from typing import Any, cast

from litestar.types import ASGIApp, Receive, Scope, Send

PATH_KEY = "tollway.path_key"  # the scope entry that carries the key from here to authentication
_PREFIX = "/ak/"


class Edge:
    """Wraps the app's ASGI handler, outside the OpenTelemetry middleware (which names spans after the raw path).

    ``/ak/<key>/v1/chat/completions`` becomes ``/v1/chat/completions`` with the key in ``scope[PATH_KEY]``, so
    spans, the Prometheus ``path`` label, access and error logs all show the same route as a header-keyed call,
    and the chat routes (served before Litestar, ``tollway.platform.hot_path.DirectRoutes``) match exactly.
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
        await self._app(scope, receive, send)
