"""Consumes ``router.request.failed.v1``: failed requests counted as requests and failures, zero tokens and cost."""

from __future__ import annotations

from collections.abc import Sequence

from tollway.analytics import handlers
from tollway.analytics.ports import RequestLog
from tollway.contracts import RequestFailedV1, subject_of
from tollway.contracts.streams import ROUTER_STREAM
from tollway.platform.messaging import ConsumerSpec
from tollway.platform.runner import Subscription

DURABLE = "analytics__request_failed"


def spec(batch_size: int = 1000, ack_wait_s: float = 30.0) -> ConsumerSpec:
    return ConsumerSpec(
        stream=ROUTER_STREAM,
        durable=DURABLE,
        filter_subject=subject_of(RequestFailedV1),
        batch_size=batch_size,
        ack_wait_s=ack_wait_s,
    )


def subscription(log: RequestLog, *, batch_size: int = 1000, ack_wait_s: float = 30.0) -> Subscription:
    async def on_events(events: Sequence[RequestFailedV1]) -> None:
        await handlers.record_failed_requests(events, log, DURABLE)

    return Subscription(spec(batch_size, ack_wait_s), RequestFailedV1, on_events)
