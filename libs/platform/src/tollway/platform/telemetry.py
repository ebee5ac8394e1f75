"""OpenTelemetry setup and W3C trace-context propagation over HTTP and NATS headers."""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF


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
    """Add ``traceparent``/``tracestate`` for the current span to ``headers`` (HTTP or NATS)."""
    propagate.inject(headers)
    return headers


def extract_trace_context(headers: Mapping[str, str] | None) -> Context:
    """The remote span context carried by ``headers``, to parent the spans of the receiving side."""
    return propagate.extract(dict(headers or {}))
