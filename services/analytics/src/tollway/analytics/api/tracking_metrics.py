"""Prometheus gauges of API key tracking quality over the last 24 hours, refreshed in the background by ``serve``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from litestar import Litestar
from prometheus_client import Gauge

from tollway.analytics import handlers
from tollway.analytics.api.tracking_schemas import TrackingQualityIn
from tollway.analytics.bootstrap import monitor_reader
from tollway.analytics.domain import tracking
from tollway.analytics.domain.tracking import TrackingCounts
from tollway.analytics.ports import MonitorReader
from tollway.analytics.settings import AnalyticsSettings

log = logging.getLogger(__name__)

RATE = Gauge("tollway_api_key_tracking_rate", "Share (0-1) of non-anonymous requests of the last 24 h with a key")
REQUESTS = Gauge("tollway_api_key_tracking_requests", "Requests of the last 24 h by attribution", ["kind"])
FAILURES = Gauge("tollway_api_key_tracking_failures", "Requests of the last 24 h without a key, by reason", ["reason"])
ALERT = Gauge("tollway_api_key_tracking_alert_level", "Tracking quality of the last 24 h: 0 ok, 1 warning, 2 critical")
_LEVEL = {"ok": 0, "warning": 1, "critical": 2}


def publish(counts: TrackingCounts) -> None:
    rate = tracking.tracking_rate(counts)
    RATE.set(rate / 100)
    for kind, value in (("with_key", counts.with_key), ("anonymous", counts.anonymous), ("total", counts.total)):
        REQUESTS.labels(kind=kind).set(value)
    for reason, value in counts.failures.items():
        FAILURES.labels(reason=reason).set(value)
    ALERT.set(_LEVEL[tracking.alert_status(rate)])


async def refresh(monitor: MonitorReader) -> None:
    filters = TrackingQualityIn().filters(datetime.now(UTC))
    publish(await handlers.tracking_quality(monitor, filters))


async def _refresh_until(stop: asyncio.Event, monitor: MonitorReader, every_s: float) -> None:
    # The first refresh waits one period too: not while the app is still starting (or already stopping).
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_s)
        if stop.is_set():
            return
        try:
            await refresh(monitor)
        except Exception:
            # A database hiccup must not stop the loop; the gauges keep their last values meanwhile.
            log.warning("tracking metrics refresh failed", exc_info=True)


@asynccontextmanager
async def tracking_metrics(app: Litestar) -> AsyncIterator[None]:
    """Lifespan: runs inside the platform's, so the infra is open while the refresher runs.

    On shutdown the refresher finishes its query instead of being cancelled in the middle of it (a cancelled
    asyncpg query leaves a connection the pool can only terminate).
    """
    settings: AnalyticsSettings = app.state.settings
    if settings.tracking_metrics_refresh_s <= 0:  # switched off
        yield
        return
    stop = asyncio.Event()
    monitor = monitor_reader(app.state.infra)
    task = asyncio.create_task(_refresh_until(stop, monitor, settings.tracking_metrics_refresh_s))
    try:
        yield
    finally:
        stop.set()
        await task
