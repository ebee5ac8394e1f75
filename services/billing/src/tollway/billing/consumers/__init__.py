"""billing's consumers: usage becomes debits, registrations open accounts, key budgets are tracked."""

from __future__ import annotations

from tollway.billing.bootstrap import BillingServices
from tollway.billing.consumers import key_budget_changed, request_completed, user_registered
from tollway.billing.settings import BillingSettings
from tollway.platform.runner import Subscription


def subscriptions(services: BillingServices, settings: BillingSettings) -> list[Subscription]:
    usage = [
        request_completed.subscription(services, settings.usage_batch_size, settings.usage_ack_wait_s)
    ] * settings.usage_consumers
    return [*usage, user_registered.subscription(services), key_budget_changed.subscription(services)]
