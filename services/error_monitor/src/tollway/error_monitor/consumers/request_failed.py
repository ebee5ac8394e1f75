"""Consumes ``router.request.failed.v1``: every request no deployment could serve is an error to look at."""

from __future__ import annotations

from collections.abc import Sequence

from tollway.contracts import RequestFailedV1, subject_of
from tollway.contracts.streams import ROUTER_STREAM
from tollway.error_monitor import handlers
from tollway.error_monitor.ports import ErrorLog
from tollway.platform.messaging import ConsumerSpec
from tollway.platform.runner import Subscription

SPEC = ConsumerSpec(
    stream=ROUTER_STREAM, durable="error_monitor__request_failed", filter_subject=subject_of(RequestFailedV1)
)


def subscription(log: ErrorLog) -> Subscription:
    async def on_events(events: Sequence[RequestFailedV1]) -> None:
        await handlers.record_failed_requests(events, log, SPEC.durable)

    return Subscription(SPEC, RequestFailedV1, on_events)
