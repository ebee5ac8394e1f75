"""OpenTelemetry setup and W3C trace-context propagation over HTTP and NATS headers."""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping

from opentelemetry import baggage, propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags


def configure_telemetry(service: str) -> TracerProvider:
    """Install the tracer provider of ``telemetry_provider`` as the process's own."""
    provider = telemetry_provider(service)
    trace.set_tracer_provider(provider)
    return provider


def telemetry_provider(service: str) -> TracerProvider:
    """A tracer provider named for ``service`` that exports OTLP/HTTP when an endpoint is configured.

    Without one, nothing would read the spans, and recording them cost about ten times a non-recording span on
    every hop of every request (issue 14): the sampler drops them then, while trace and span ids still reach the
    logs and the ``traceparent`` of the next hop. ``OTEL_TRACES_SAMPLER``, when set, decides instead.
    """
    resource = Resource.create({"service.name": service})
    if not os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        sampler = None if os.environ.get("OTEL_TRACES_SAMPLER") else ALWAYS_OFF
        return TracerProvider(resource=resource, sampler=sampler)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # noqa: PLC0415

    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def inject_trace_context(headers: MutableMapping[str, str]) -> MutableMapping[str, str]:
    """Add ``traceparent``/``tracestate`` for the current span to ``headers`` (HTTP or NATS).

    The common case, a span with no trace state and no baggage, is formatted here: the propagators' generic path
    cost several times more on every hop of every request. Anything else takes OpenTelemetry's own.
    """
    context = trace.get_current_span().get_span_context()
    if context.trace_state or baggage.get_all():
        propagate.inject(headers)
    elif context.is_valid:
        headers["traceparent"] = f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"
    return headers


def extract_trace_context(headers: Mapping[str, str] | None) -> Context:
    """The remote span context carried by ``headers``, to parent the spans of the receiving side.

    A version-00 ``traceparent`` alone (what every Tollway hop sends) is parsed here: OpenTelemetry's regex and
    composite propagator were an eighth of the router's Python time per request. Anything else, a ``tracestate``,
    baggage, another version or a malformed value, takes OpenTelemetry's own path, so the answer is always theirs.
    """
    if not headers:
        return Context()
    parent = headers.get("traceparent")
    if parent is None or "tracestate" in headers or "baggage" in headers:
        return propagate.extract(dict(headers))
    remote = _version_00(parent)
    if remote is None:
        return propagate.extract(dict(headers))
    return trace.set_span_in_context(NonRecordingSpan(remote))


def _version_00(value: str) -> SpanContext | None:
    """``00-<32 hex>-<16 hex>-<2 hex>`` in lower case with non-zero ids; ``None`` for anything else."""
    parts = value.split("-")
    if len(parts) != 4 or parts[0] != "00" or (len(parts[1]), len(parts[2]), len(parts[3])) != (32, 16, 2):
        return None
    if not _LOWER_HEX.issuperset(parts[1]) or not _LOWER_HEX.issuperset(parts[2] + parts[3]):
        return None
    trace_id, span_id = int(parts[1], 16), int(parts[2], 16)
    if not trace_id or not span_id:
        return None
    return SpanContext(trace_id, span_id, is_remote=True, trace_flags=TraceFlags(int(parts[3], 16)))


_LOWER_HEX = frozenset("0123456789abcdef")
