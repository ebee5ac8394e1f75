"""Consumes ``<prefix>.error.reported.v1`` from every producer's stream into the errors log."""

from __future__ import annotations

from collections.abc import Sequence

from tollway.contracts import ErrorReportedV1, error_subject
from tollway.contracts.error_monitor import SUBJECT_PREFIX
from tollway.contracts.streams import ALL_STREAMS, StreamSpec
from tollway.error_monitor import handlers
from tollway.error_monitor.ports import ErrorLog
from tollway.platform.messaging import ConsumerSpec
from tollway.platform.messaging.consumer import BatchHandler
from tollway.platform.runner import Subscription


def _stream_of(service: str) -> StreamSpec:
    wildcard = SUBJECT_PREFIX[service] + ".>"
    return next(stream for stream in ALL_STREAMS if wildcard in stream.subjects)


def _handler(log: ErrorLog, consumer: str) -> BatchHandler[ErrorReportedV1]:
    async def on_events(events: Sequence[ErrorReportedV1]) -> None:
        await handlers.record_error_reports(events, log, consumer)

    return on_events


def subscriptions(log: ErrorLog) -> list[Subscription]:
    """One durable consumer per producer stream (a consumer reads one stream)."""
    subs = []
    for service in SUBJECT_PREFIX:
        spec = ConsumerSpec(
            stream=_stream_of(service),
            durable=f"error_monitor__{service}_errors",
            filter_subject=error_subject(service),
        )
        subs.append(Subscription(spec, ErrorReportedV1, _handler(log, spec.durable)))
    return subs
