"""Prometheus series observed from every usage event the router emits: outcomes, fallbacks, failed attempts, TTFT."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from tollway.contracts import RequestCompletedV1, RequestFailedV1

REQUESTS = Counter(
    "tollway_router_requests_total",
    "Requests the router finished, by provider that answered (empty when none did) and outcome",
    ["provider", "outcome"],
)
FALLBACKS = Counter(
    "tollway_router_fallbacks_total", "Requests answered by a fallback deployment, not the first choice", ["provider"]
)
ATTEMPT_FAILURES = Counter(
    "tollway_router_attempt_failures_total",
    "Provider attempts that failed (each one moves the request down its fallback chain)",
    ["provider", "error_class"],
)
TTFT_SECONDS = Histogram(
    "tollway_router_ttft_seconds",
    "Time to the first token of a streamed answer, from the router receiving the request",
    ["provider"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)


def observe(event: RequestCompletedV1 | RequestFailedV1) -> None:
    """Count one request's event; in-process only, so it costs no I/O on the request path."""
    if isinstance(event, RequestCompletedV1):
        REQUESTS.labels(event.provider, event.status).inc()
        if event.is_fallback:
            FALLBACKS.labels(event.provider).inc()
        if event.ttft_ms is not None:
            TTFT_SECONDS.labels(event.provider).observe(event.ttft_ms / 1000)
        failed = event.failed_attempts
    else:
        REQUESTS.labels("", event.error_class).inc()
        failed = event.attempts
    for attempt in failed:
        ATTEMPT_FAILURES.labels(attempt.provider, attempt.error_class).inc()
