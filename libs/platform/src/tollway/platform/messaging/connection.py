"""NATS connection with endless reconnects, and idempotent provisioning of streams and KV buckets."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from functools import partial

import nats
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext, api
from nats.js.errors import BadRequestError, BucketNotFoundError, NotFoundError, ServiceUnavailableError

from tollway.contracts import KeyValueSpec, StreamSpec
from tollway.platform.messaging.namespace import Namespace

log = logging.getLogger(__name__)
_NS_PER_S = 1_000_000_000


async def connect_nats(url: str, name: str) -> NatsClient:
    """Connect and keep reconnecting forever: a NATS restart must never need a process restart.

    ``url`` may list several servers separated by commas (the nodes of a cluster); the client picks one and fails
    over to the others, and learns the rest of the cluster from the server it reaches.
    """
    servers = [server.strip() for server in url.split(",") if server.strip()]

    async def on_error(exc: Exception) -> None:
        log.warning("nats error: %s", exc)

    async def on_disconnect() -> None:
        log.warning("nats disconnected")

    async def on_reconnect() -> None:
        log.info("nats reconnected")

    return await nats.connect(
        servers,
        name=name,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        error_cb=on_error,
        disconnected_cb=on_disconnect,
        reconnected_cb=on_reconnect,
    )


@asynccontextmanager
async def nats_connection(url: str, name: str) -> AsyncIterator[NatsClient]:
    """A connection drained on exit so in-flight publishes and acks are flushed."""
    nc = await connect_nats(url, name)
    try:
        yield nc
    finally:
        if not nc.is_closed:
            await nc.drain()


def stream_config(spec: StreamSpec, ns: Namespace, replicas: int = 1) -> api.StreamConfig:
    return api.StreamConfig(
        name=ns.stream(spec.name),
        subjects=[ns.subject(s) for s in spec.subjects],
        description=spec.description or None,
        storage=api.StorageType.FILE,
        retention=api.RetentionPolicy.LIMITS,
        max_age=spec.max_age_s,
        duplicate_window=spec.duplicate_window_s,
        num_replicas=replicas,
    )


async def ensure_stream(js: JetStreamContext, spec: StreamSpec, ns: Namespace, replicas: int | None = None) -> None:
    """Create the stream, or update it when its declared config changed; a no-op when it matches.

    ``replicas`` is the copies JetStream keeps (3 on a cluster: a node can die without losing a write). ``None``
    (consumers declaring the stream they read) creates a single copy and never changes an existing stream's count.
    """
    try:
        current = await js.stream_info(ns.stream(spec.name))
    except NotFoundError:
        await js.add_stream(stream_config(spec, ns, replicas or 1))
        return
    config = stream_config(spec, ns, replicas or current.config.num_replicas or 1)
    same = current.config.subjects == config.subjects and current.config.max_age == config.max_age
    same = same and current.config.duplicate_window == config.duplicate_window
    if not same or current.config.num_replicas != config.num_replicas:
        await js.update_stream(config)


async def ensure_bucket(js: JetStreamContext, spec: KeyValueSpec, ns: Namespace, replicas: int | None = None) -> None:
    """Create the bucket with ``replicas`` copies, or scale an existing one to that count (``None``: leave it)."""
    name = ns.bucket(spec.bucket)
    try:
        await js.key_value(name)
    except BucketNotFoundError:
        await js.create_key_value(
            api.KeyValueConfig(bucket=name, history=spec.history, description=spec.description, replicas=replicas or 1)
        )
        return
    if replicas is None:
        return
    backing = await js.stream_info(f"KV_{name}")  # a bucket is a stream named KV_<bucket>
    if backing.config.num_replicas != replicas:
        backing.config.num_replicas = replicas
        await js.update_stream(backing.config)


async def provision(
    js: JetStreamContext,
    streams: Iterable[StreamSpec],
    buckets: Iterable[KeyValueSpec],
    ns: Namespace,
    replicas: int | None = None,
) -> None:
    """Declare every stream and bucket (with ``replicas`` copies each); safe to run from every process at start."""
    for stream in streams:
        await _settled(partial(ensure_stream, js, stream, ns, replicas), ns.stream(stream.name))
    for bucket in buckets:
        await _settled(partial(ensure_bucket, js, bucket, ns, replicas), ns.bucket(bucket.bucket))


async def _settled(declare: Callable[[], Awaitable[None]], name: str, within_s: float = 30.0) -> None:
    """Retry a declaration while the cluster is still placing the stream.

    On a cluster, a stream another process has just created has no leader for a moment, and nobody answers its
    ``STREAM.INFO`` (a timeout), or the creator's concurrent ``STREAM.CREATE`` is still in flight (a 400/503).
    Both settle within a second or two when every service starts at once; a declaration is idempotent, so retrying
    it is safe.
    """
    deadline = time.monotonic() + within_s
    while True:
        try:
            await declare()
            return
        except (nats.errors.TimeoutError, BadRequestError, ServiceUnavailableError) as exc:
            if time.monotonic() > deadline:
                raise
            log.info("%s not settled yet (%s); declaring it again", name, type(exc).__name__)
            await asyncio.sleep(0.2)
