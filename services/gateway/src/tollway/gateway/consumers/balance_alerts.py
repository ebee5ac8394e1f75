"""Consumes ``billing.balance.low.v1`` and ``.exhausted.v1``: each alert stages one mail to the account's owner."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from tollway.contracts import BalanceExhaustedV1, BalanceLowV1, subject_of
from tollway.contracts.streams import BILLING_STREAM
from tollway.gateway.db.tables import messaging
from tollway.gateway.db.uow import SqlAlchemyUnitOfWork
from tollway.gateway.domain.balance_mail import BalanceAlert, balance_mail
from tollway.platform.messaging import ConsumerSpec, claim_events
from tollway.platform.runner import Subscription

log = logging.getLogger(__name__)
AlertType = type[BalanceLowV1] | type[BalanceExhaustedV1]
DURABLES: tuple[tuple[AlertType, str], ...] = (
    (BalanceLowV1, "gateway__balance_low"),
    (BalanceExhaustedV1, "gateway__balance_exhausted"),
)


async def stage_alert_mail(engine: AsyncEngine, consumer: str, alerts: Sequence[BalanceAlert], public_url: str) -> int:
    """Stage a mail per alert not seen before, in the transaction that claims it: a redelivery sends nothing twice."""
    async with engine.begin() as conn:
        fresh = await claim_events(conn, messaging.inbox, consumer, (a.event_id for a in alerts))
        uow = SqlAlchemyUnitOfWork(conn)
        staged = 0
        for alert in alerts:
            if alert.event_id not in fresh:
                continue
            fresh.discard(alert.event_id)  # a batch can hold the same event twice (redelivered next to itself)
            user = await uow.users.get(alert.user_id)
            if user is None or not user.email or not user.is_active:
                continue  # nobody to tell (deleted, deactivated, or an external account without a verified email)
            await uow.mail.stage(balance_mail(alert, user.email, public_url))
            staged += 1
    if staged:
        log.info("balance alerts staged as mail", extra={"consumer": consumer, "mails": staged})
    return staged


def subscriptions(engine: AsyncEngine, public_url: str) -> list[Subscription]:
    return [_subscription(engine, event_type, durable, public_url) for event_type, durable in DURABLES]


def _subscription(engine: AsyncEngine, event_type: AlertType, durable: str, public_url: str) -> Subscription:
    async def on_events(alerts: Sequence[BalanceAlert]) -> None:
        await stage_alert_mail(engine, durable, alerts, public_url)

    spec = ConsumerSpec(stream=BILLING_STREAM, durable=durable, filter_subject=subject_of(event_type), batch_size=64)
    return Subscription(spec, event_type, on_events)
