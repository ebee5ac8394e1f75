"""Error reports every service may publish, and the incidents error_monitor raises from them."""

from __future__ import annotations

from typing import Literal

from tollway.contracts.base import Event

Severity = Literal["info", "warning", "error", "critical"]

ERROR_REPORTED_SUFFIX = "error.reported.v1"

# The subject prefix of each service's own stream; inference_router publishes as ``router.*``.
SUBJECT_PREFIX = {
    "gateway": "gateway",
    "inference_router": "router",
    "billing": "billing",
    "analytics": "analytics",
    "error_monitor": "error_monitor",
}


class ErrorReportedV1(Event, frozen=True, kw_only=True, tag="error.reported.v1"):
    """Something went wrong in ``service`` that an operator should see (e.g. a poison message).

    Published on ``<stream prefix>.error.reported.v1`` (see ``error_subject``) so it lands in the producer's own
    stream; the ``type`` tag is the subject's service-independent tail (the one exception to type == subject).
    """

    service: str
    kind: str
    message: str
    severity: Severity = "error"
    subject: str | None = None
    stream_sequence: int | None = None
    fingerprint: str | None = None
    request_id: str | None = None


class IncidentOpenedV1(Event, frozen=True, kw_only=True, tag="error_monitor.incident.opened.v1"):
    """A pattern of errors crossed its threshold and an incident was opened."""

    incident_id: str
    fingerprint: str
    service: str
    title: str
    severity: Severity
    error_count: int


def error_subject(service: str) -> str:
    """The subject a service publishes its error reports on (inside its own stream)."""
    return f"{SUBJECT_PREFIX.get(service, service)}.{ERROR_REPORTED_SUFFIX}"
