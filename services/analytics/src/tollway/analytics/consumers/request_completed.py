"""Consumes ``router.request.completed.v1``: one request row and its rollup increments per request id."""

from __future__ import annotations

from collections.abc import Sequence

from tollway.analytics import handlers
from tollway.analytics.ports import RequestLog
from tollway.contracts import RequestCompletedV1, subject_of
from tollway.contracts.streams import ROUTER_STREAM
from tollway.platform.messaging import USAGE_LINGER_S, ConsumerSpec
from tollway.platform.runner import Subscription

DURABLE = "analytics__request_completed"


def spec(batch_size: int = 1000, ack_wait_s: float = 30.0) -> ConsumerSpec:
    return ConsumerSpec(
        stream=ROUTER_STREAM,
        durable=DURABLE,
        filter_subject=subject_of(RequestCompletedV1),
        batch_size=batch_size,
        ack_wait_s=ack_wait_s,
        linger_s=USAGE_LINGER_S,
    )


def subscription(log: RequestLog, *, batch_size: int = 1000, ack_wait_s: float = 30.0) -> Subscription:
    async def on_events(events: Sequence[RequestCompletedV1]) -> None:
        await handlers.record_completed_requests(events, log, DURABLE)

    return Subscription(spec(batch_size, ack_wait_s), RequestCompletedV1, on_events)
