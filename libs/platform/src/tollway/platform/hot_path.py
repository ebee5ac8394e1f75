"""Hot routes: served before the framework, with one span (parented by the caller's traceparent) and one histogram."""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, cast

from litestar.types import ASGIApp, Receive, Scope, Send
from opentelemetry import trace
from prometheus_client import Histogram

from tollway.platform.telemetry import extract_trace_context

REQUEST_SECONDS = Histogram(
    "tollway_hot_request_seconds",
    "Time to answer (to the first byte for streams) on hot routes",
    ["service", "route", "status"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
_tracer = trace.get_tracer("tollway.hot_path")
log = logging.getLogger(__name__)
_FAILURE = b'{"error":{"message":"internal error","type":"server_error","code":500}}'


class HotRequest:
    """What a hot route reports about one request: its status, once known."""

    def __init__(self) -> None:
        self.status = 0


@contextmanager
def hot_request(service: str, route: str, headers: Mapping[str, str]) -> Iterator[HotRequest]:
    """Time the request and trace it as a server span continuing the caller's trace."""
    started = time.perf_counter()
    outcome = HotRequest()
    with _tracer.start_as_current_span(route, context=extract_trace_context(headers), kind=trace.SpanKind.SERVER):
        try:
            yield outcome
        finally:
            REQUEST_SECONDS.labels(service, route, str(outcome.status)).observe(time.perf_counter() - started)


class DirectRoutes:
    """Serves a few exact paths itself and hands everything else to the framework.

    Litestar's middleware (tracing, metrics, exception capture) and routing cost about a third of a request's CPU
    on the chat routes (py-spy at 16 connections); those routes are raw ASGI functions that trace and time
    themselves with ``hot_request`` and answer every failure in their own shape, so they skip it. ``scope["app"]``
    is set as Litestar would have set it, for the routes that read their services from the app state.
    """

    def __init__(
        self,
        inner: ASGIApp,
        routes: Mapping[str, ASGIApp],
        app: object,
        patterns: Sequence[tuple[re.Pattern[str], ASGIApp]] = (),
    ) -> None:
        self._inner = inner
        self._routes = dict(routes)
        self._app = app
        # Paths that carry a parameter (``/model/{modelId}/converse``), tried only when no exact path matched.
        self._patterns = tuple(patterns)

    @property
    def paths(self) -> tuple[str, ...]:
        """The paths served here (the services describe them in their OpenAPI documents themselves)."""
        return tuple(self._routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        entries = cast("dict[str, Any]", scope)
        route = self._route(entries["path"]) if entries["type"] == "http" else None
        if route is None:
            await self._inner(scope, receive, send)
            return
        entries["app"] = self._app
        started = False

        async def tracked(message: Any) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await route(scope, receive, tracked)
        except Exception:
            # A route answers its own failures; this is the net under a bug, logged for operators with its
            # traceback. The client gets a plain JSON 500, or (once the answer started) the end of it.
            log.exception("hot route %s failed", entries["path"])
            await _answer_failure(send, started)

    def _route(self, path: str) -> ASGIApp | None:
        route = self._routes.get(path)
        if route is None and self._patterns:
            route = next((found for pattern, found in self._patterns if pattern.fullmatch(path)), None)
        return route


async def _answer_failure(send: Send, started: bool) -> None:
    with contextlib.suppress(Exception):  # the client may be gone too
        if not started:
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(_FAILURE)).encode())]
            await send({"type": "http.response.start", "status": 500, "headers": headers})
            await send({"type": "http.response.body", "body": _FAILURE, "more_body": False})
        else:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
