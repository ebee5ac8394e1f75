"""Cheap instrumentation for hot routes: one span (parented by the caller's traceparent) and one histogram."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

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
