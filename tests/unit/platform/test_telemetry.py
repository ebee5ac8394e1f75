"""W3C trace context survives a trip through HTTP or NATS headers."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from tollway.platform.telemetry import extract_trace_context, inject_trace_context


def test_trace_context_round_trips_through_headers() -> None:
    tracer = TracerProvider().get_tracer("t")
    with tracer.start_as_current_span("producer") as span:
        headers = dict(inject_trace_context({}))
    assert headers["traceparent"].split("-")[1] == format(span.get_span_context().trace_id, "032x")
    remote = trace.get_current_span(extract_trace_context(headers)).get_span_context()
    assert remote.trace_id == span.get_span_context().trace_id
    assert remote.is_remote


def test_no_headers_give_an_empty_context() -> None:
    assert not trace.get_current_span(extract_trace_context(None)).get_span_context().is_valid
