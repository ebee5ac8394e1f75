"""Error reports every service may publish, and the incidents error_monitor raises from them."""

from __future__ import annotations

from datetime import datetime
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


IncidentKind = Literal["provider_health", "error_spike"]
IncidentSeverity = Literal["critical", "high", "medium", "low"]


class IncidentOpenedV1(Event, frozen=True, kw_only=True, tag="error_monitor.incident.opened.v1"):
    """A provider became unhealthy or a pattern of errors spiked, and an incident was opened.

    ``fingerprint`` is what the incident is about: the provider for ``provider_health``, the error pattern's id for
    ``error_spike``. ``severity`` keeps the error vocabulary; ``incident_severity`` is the incident's own.
    """

    incident_id: str
    fingerprint: str
    service: str
    title: str
    severity: Severity
    error_count: int
    kind: IncidentKind = "error_spike"
    provider: str | None = None
    incident_severity: IncidentSeverity = "high"


class IncidentResolvedV1(Event, frozen=True, kw_only=True, tag="error_monitor.incident.resolved.v1"):
    """An incident ended: resolved by an operator (``resolved_by``) or by the provider's recovery (``auto``)."""

    incident_id: str
    fingerprint: str
    kind: IncidentKind
    provider: str | None = None
    resolved_by: str
    started_at: datetime
    ended_at: datetime
    duration_seconds: int


def error_subject(service: str) -> str:
    """The subject a service publishes its error reports on (inside its own stream)."""
    return f"{SUBJECT_PREFIX.get(service, service)}.{ERROR_REPORTED_SUFFIX}"
