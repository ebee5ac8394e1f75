"""analytics' consumers: the router's completed and failed requests, each into request rows and rollups."""

from __future__ import annotations

from tollway.analytics.bootstrap import request_log
from tollway.analytics.consumers import request_completed, request_failed
from tollway.analytics.settings import load
from tollway.platform.infra import Infra
from tollway.platform.runner import Subscription


def subscriptions(infra: Infra) -> list[Subscription]:
    # The worker role hands this factory only the opened infra; consumer tuning comes from the same env vars.
    settings = load()
    log = request_log(infra)
    batch_size, ack_wait_s = settings.consumer_batch_size, settings.consumer_ack_wait_s
    subs = [
        request_completed.subscription(log, batch_size=batch_size, ack_wait_s=ack_wait_s),
        request_failed.subscription(log, batch_size=batch_size, ack_wait_s=ack_wait_s),
    ]
    # Several pullers per durable: one fetches, decodes and acks while another waits on Postgres.
    return [sub for sub in subs for _ in range(settings.consumer_concurrency)]
