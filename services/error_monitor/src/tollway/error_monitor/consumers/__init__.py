"""error_monitor's consumers: error reports from every producer's stream, and failed requests."""

from __future__ import annotations

from tollway.error_monitor.consumers import error_reported, request_failed
from tollway.error_monitor.db.repositories import SqlAlchemyErrorLog
from tollway.platform.infra import Infra
from tollway.platform.runner import Subscription


def subscriptions(infra: Infra) -> list[Subscription]:
    log = SqlAlchemyErrorLog(infra.require_engine())
    return [*error_reported.subscriptions(log), request_failed.subscription(log)]
