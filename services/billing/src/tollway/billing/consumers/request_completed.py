"""Consumes ``router.request.completed.v1``: one debit per request id, a fetched batch per transaction."""

from __future__ import annotations

from collections.abc import Sequence

from tollway.billing import handlers
from tollway.billing.bootstrap import BillingServices
from tollway.contracts import RequestCompletedV1, subject_of
from tollway.contracts.streams import ROUTER_STREAM
from tollway.platform.messaging import USAGE_LINGER_S, ConsumerSpec
from tollway.platform.runner import Subscription

DURABLE = "billing__request_completed"


def spec(batch_size: int, ack_wait_s: float) -> ConsumerSpec:
    return ConsumerSpec(
        stream=ROUTER_STREAM,
        durable=DURABLE,
        filter_subject=subject_of(RequestCompletedV1),
        batch_size=batch_size,
        ack_wait_s=ack_wait_s,
        linger_s=USAGE_LINGER_S,
    )


def subscription(services: BillingServices, batch_size: int, ack_wait_s: float) -> Subscription:
    async def on_events(events: Sequence[RequestCompletedV1]) -> None:
        await handlers.settle_usage(
            events,
            services.ledger,
            services.balances,
            consumer=DURABLE,
            policy=services.policy,
            clock=services.clock,
        )

    return Subscription(spec(batch_size, ack_wait_s), RequestCompletedV1, on_events)
