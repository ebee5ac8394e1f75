"""error_monitor's consumers: error reports from every producer's stream, failed and served requests."""

from __future__ import annotations

from tollway.error_monitor.bootstrap import error_log
from tollway.error_monitor.consumers import error_reported, request_completed, request_failed
from tollway.platform.infra import Infra
from tollway.platform.runner import Subscription


def subscriptions(infra: Infra) -> list[Subscription]:
    log = error_log(infra)
    return [*error_reported.subscriptions(log), request_failed.subscription(log), request_completed.subscription(log)]
