"""W3C trace context survives a trip through HTTP or NATS headers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry import propagate, trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from tollway.platform.telemetry import extract_trace_context, inject_trace_context, telemetry_provider


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


def test_without_an_exporter_spans_are_not_recorded_but_ids_still_propagate(monkeypatch: pytest.MonkeyPatch) -> None:
    # Recording spans nobody exports cost about ten times a non-recording one, on every hop of every request.
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    tracer = telemetry_provider("svc").get_tracer("t")
    caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    with tracer.start_as_current_span("serve", context=extract_trace_context({"traceparent": caller})) as span:
        headers = dict(inject_trace_context({}))
    assert not span.is_recording()
    assert span.get_span_context().trace_id == int("4bf92f3577b34da6a3ce929d0e0e4736", 16)  # logs keep the id
    assert headers["traceparent"].split("-")[1] == "4bf92f3577b34da6a3ce929d0e0e4736"


def test_with_an_exporter_spans_are_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    span = telemetry_provider("svc").get_tracer("t").start_span("serve")  # never ended: nothing is exported
    assert span.is_recording()


TRACEPARENTS = [
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
    "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  # invalid: zero trace id
    "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  # invalid: zero span id
    "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  # invalid: upper case
    "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  # invalid version
    "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-later",  # a future version with more fields
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",  # version 00 allows none
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
    "00-4bf92f3577b34da6-3ce929d0e0e4736-00f067aa0ba902b7-01",  # invalid: a dash inside the trace id
    " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  # leading blank: OpenTelemetry accepts it
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",
    "garbage",
    "",
]


@pytest.mark.parametrize("traceparent", TRACEPARENTS)
@pytest.mark.parametrize("tracestate", [None, "vendor=value"])
def test_the_fast_extract_agrees_with_opentelemetrys_propagator(traceparent: str, tracestate: str | None) -> None:
    headers = {"traceparent": traceparent, "content-type": "application/json"}
    if tracestate:
        headers["tracestate"] = tracestate
    ours = trace.get_current_span(extract_trace_context(headers)).get_span_context()
    theirs = trace.get_current_span(propagate.extract(headers)).get_span_context()
    assert ours == theirs
    assert ours.trace_state == theirs.trace_state


@given(
    trace_id=st.integers(min_value=1, max_value=2**128 - 1),
    span_id=st.integers(min_value=1, max_value=2**64 - 1),
    sampled=st.booleans(),
)
def test_the_fast_inject_writes_what_opentelemetry_writes(trace_id: int, span_id: int, sampled: bool) -> None:
    context = SpanContext(trace_id, span_id, is_remote=False, trace_flags=TraceFlags(int(sampled)))
    with trace.use_span(NonRecordingSpan(context)):
        assert dict(inject_trace_context({})) == dict(_otel_inject())


def _otel_inject() -> dict[str, str]:
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier
