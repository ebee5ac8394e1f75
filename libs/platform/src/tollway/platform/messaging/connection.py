"""NATS connection with endless reconnects, and idempotent provisioning of streams and KV buckets."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

import nats
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext, api
from nats.js.errors import BucketNotFoundError, NotFoundError

from tollway.contracts import KeyValueSpec, StreamSpec
from tollway.platform.messaging.namespace import Namespace

log = logging.getLogger(__name__)
_NS_PER_S = 1_000_000_000


async def connect_nats(url: str, name: str) -> NatsClient:
    """Connect and keep reconnecting forever: a NATS restart must never need a process restart."""

    async def on_error(exc: Exception) -> None:
        log.warning("nats error: %s", exc)

    async def on_disconnect() -> None:
        log.warning("nats disconnected")

    async def on_reconnect() -> None:
        log.info("nats reconnected")

    return await nats.connect(
        url,
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


def stream_config(spec: StreamSpec, ns: Namespace) -> api.StreamConfig:
    return api.StreamConfig(
        name=ns.stream(spec.name),
        subjects=[ns.subject(s) for s in spec.subjects],
        description=spec.description or None,
        storage=api.StorageType.FILE,
        retention=api.RetentionPolicy.LIMITS,
        max_age=spec.max_age_s,
        duplicate_window=spec.duplicate_window_s,
    )


async def ensure_stream(js: JetStreamContext, spec: StreamSpec, ns: Namespace) -> None:
    """Create the stream, or update it when its declared config changed; a no-op when it matches."""
    config = stream_config(spec, ns)
    try:
        current = await js.stream_info(config.name or "")
    except NotFoundError:
        await js.add_stream(config)
        return
    same = current.config.subjects == config.subjects and current.config.max_age == config.max_age
    if not same or current.config.duplicate_window != config.duplicate_window:
        await js.update_stream(config)


async def ensure_bucket(js: JetStreamContext, spec: KeyValueSpec, ns: Namespace) -> None:
    try:
        await js.key_value(ns.bucket(spec.bucket))
    except BucketNotFoundError:
        await js.create_key_value(
            api.KeyValueConfig(bucket=ns.bucket(spec.bucket), history=spec.history, description=spec.description)
        )


async def provision(
    js: JetStreamContext, streams: Iterable[StreamSpec], buckets: Iterable[KeyValueSpec], ns: Namespace
) -> None:
    """Declare every stream and bucket; safe to run from every process at every start."""
    for stream in streams:
        await ensure_stream(js, stream, ns)
    for bucket in buckets:
        await ensure_bucket(js, bucket, ns)
