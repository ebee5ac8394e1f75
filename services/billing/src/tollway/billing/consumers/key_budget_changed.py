"""Consumes ``gateway.api_key.budget_changed.v1``: billing's copy of each key's spend limits."""

from __future__ import annotations

from collections.abc import Sequence

from tollway.billing import budgets
from tollway.billing.bootstrap import BillingServices
from tollway.contracts import ApiKeyBudgetChangedV1, subject_of
from tollway.contracts.streams import GATEWAY_STREAM
from tollway.platform.messaging import ConsumerSpec
from tollway.platform.runner import Subscription

DURABLE = "billing__key_budget_changed"
SPEC = ConsumerSpec(stream=GATEWAY_STREAM, durable=DURABLE, filter_subject=subject_of(ApiKeyBudgetChangedV1))


def subscription(services: BillingServices) -> Subscription:
    async def on_events(events: Sequence[ApiKeyBudgetChangedV1]) -> None:
        await budgets.record_key_budgets(events, services.ledger, consumer=DURABLE)

    return Subscription(SPEC, ApiKeyBudgetChangedV1, on_events)
