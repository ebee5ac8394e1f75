"""Consumes ``gateway.user.registered.v1``: open the account and grant trial credit, once per user."""

from __future__ import annotations

from collections.abc import Sequence

from tollway.billing import handlers
from tollway.billing.bootstrap import BillingServices
from tollway.contracts import UserRegisteredV1, subject_of
from tollway.contracts.streams import GATEWAY_STREAM
from tollway.platform.messaging import ConsumerSpec
from tollway.platform.runner import Subscription

DURABLE = "billing__user_registered"
SPEC = ConsumerSpec(stream=GATEWAY_STREAM, durable=DURABLE, filter_subject=subject_of(UserRegisteredV1))


def subscription(services: BillingServices) -> Subscription:
    async def on_events(events: Sequence[UserRegisteredV1]) -> None:
        await handlers.open_accounts(
            events,
            services.ledger,
            services.balances,
            consumer=DURABLE,
            policy=services.policy,
            clock=services.clock,
        )

    return Subscription(SPEC, UserRegisteredV1, on_events)
