"""Consumes ``router.request.completed.v1``: each served request is a success of its provider (health windows)."""

from __future__ import annotations

from collections.abc import Sequence

from tollway.contracts import RequestCompletedV1, subject_of
from tollway.contracts.streams import ROUTER_STREAM
from tollway.error_monitor import handlers
from tollway.error_monitor.ports import ErrorLog
from tollway.platform.messaging import USAGE_LINGER_S, ConsumerSpec
from tollway.platform.runner import Subscription

SPEC = ConsumerSpec(
    stream=ROUTER_STREAM,
    durable="error_monitor__request_completed",
    filter_subject=subject_of(RequestCompletedV1),
    batch_size=1000,
    linger_s=USAGE_LINGER_S,
)


def subscription(log: ErrorLog) -> Subscription:
    async def on_events(events: Sequence[RequestCompletedV1]) -> None:
        await handlers.record_completed_requests(events, log, SPEC.durable)

    return Subscription(SPEC, RequestCompletedV1, on_events)
