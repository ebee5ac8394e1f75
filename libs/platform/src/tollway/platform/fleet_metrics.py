"""Fleet gauges every serve process refreshes in the background: consumer lag, outbox backlog, events per subject."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from nats.aio.client import Client as NatsClient
from prometheus_client import Gauge
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tollway.contracts import ALL_STREAMS
from tollway.platform.db import make_engine
from tollway.platform.infra import Infra

log = logging.getLogger(__name__)

CONSUMER_PENDING = Gauge(
    "tollway_consumer_pending_messages",
    "Messages in the stream not yet delivered to this durable consumer (its lag)",
    ["service", "consumer"],
)
CONSUMER_ACK_PENDING = Gauge(
    "tollway_consumer_ack_pending_messages",
    "Messages delivered to this durable consumer and not acknowledged yet",
    ["service", "consumer"],
)
OUTBOX_BACKLOG = Gauge(
    "tollway_outbox_backlog_events", "Outbox rows not yet confirmed by a JetStream PubAck", ["service"]
)
OUTBOX_OLDEST = Gauge(
    "tollway_outbox_oldest_age_seconds", "Age of the oldest unconfirmed outbox row (0 when none)", ["service"]
)
STREAM_MESSAGES = Gauge(
    "tollway_stream_subject_messages",
    "Messages of a subject the stream holds (reported by its producer; grows by one per event)",
    ["stream", "subject"],
)
REFRESH_S = 10.0  # Prometheus scrapes every 15 s; refreshing faster than that only costs queries
STOP_WAIT_S = 5.0
API_TIMEOUT_S = 2.0  # a JetStream API call of one pass; an unreachable NATS must not hold a pass for long


def _producer(service: str) -> str:
    """The subject prefix a service publishes under (``inference_router`` publishes ``router.*``)."""
    return service.removeprefix("inference_")


async def refresh(infra: Infra, engine: AsyncEngine | None) -> None:
    """One pass: every failure is logged and skipped, so a flaky dependency never breaks ``/metrics``."""
    if engine is not None:
        await _refresh_outbox(infra, engine)
    if infra.nc is not None:
        await _refresh_streams(infra, infra.nc)


async def _refresh_outbox(infra: Infra, engine: AsyncEngine) -> None:
    query = text(
        f'SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0) FROM "{infra.service}".outbox '  # noqa: S608 - the service name, not input
        "WHERE sent_at IS NULL"
    )
    try:
        async with engine.connect() as conn:
            count, age = (await conn.execute(query)).one()
    except Exception as exc:  # a gauge refresh must never take the process down
        log.debug("outbox gauge: %s", exc)
        return
    OUTBOX_BACKLOG.labels(infra.service).set(count)
    OUTBOX_OLDEST.labels(infra.service).set(float(age))


async def _refresh_streams(infra: Infra, nc: NatsClient) -> None:
    js, own = nc.jsm(timeout=API_TIMEOUT_S), f"{infra.service}__"
    for spec in ALL_STREAMS:
        name = infra.ns.stream(spec.name)
        try:
            for consumer in await js.consumers_info(name):
                durable = consumer.name.removeprefix(infra.ns.durable(""))
                if durable.startswith(own):
                    CONSUMER_PENDING.labels(infra.service, durable).set(consumer.num_pending or 0)
                    CONSUMER_ACK_PENDING.labels(infra.service, durable).set(consumer.num_ack_pending or 0)
            if spec.subjects[0].split(".")[0] == _producer(infra.service):
                info = await js.stream_info(name, subjects_filter=">")
                for subject, count in (info.state.subjects or {}).items():
                    STREAM_MESSAGES.labels(spec.name, infra.ns.unprefixed(subject)).set(count)
        except Exception as exc:  # the next pass tries again
            log.debug("stream gauges of %s: %s", name, exc)


@asynccontextmanager
async def fleet_gauges(infra: Infra, database_url: str, every_s: float = REFRESH_S) -> AsyncIterator[None]:
    """Refresh the gauges at once, then every ``every_s`` until the app stops.

    The count runs on its own one-connection engine: it never takes a pool slot from a request, and the request
    path's engine sees only the request path's queries. Stopping lets a pass in flight finish (cancelling it
    inside a Postgres or JetStream call would leak that connection); only one hung past ``STOP_WAIT_S`` is cancelled.
    """
    stop = asyncio.Event()
    engine = None
    if infra.engine is not None:
        engine = make_engine(database_url, pool_size=1, application_name=f"{infra.service}-gauges")

    async def loop() -> None:
        while not stop.is_set():
            await refresh(infra, engine)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every_s)

    task = asyncio.create_task(loop(), name=f"{infra.service}-fleet-gauges")
    try:
        yield
    finally:
        stop.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), STOP_WAIT_S)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if engine is not None:
            await engine.dispose()
