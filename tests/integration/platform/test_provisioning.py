"""Streams and KV buckets are declared idempotently from the specs in tollway.contracts."""

from __future__ import annotations

from nats.aio.client import Client as NatsClient

from tollway.contracts import ALL_BUCKETS, ALL_STREAMS
from tollway.contracts.streams import ROUTER_STREAM, StreamSpec
from tollway.platform.messaging import Namespace, ensure_stream, provision


async def test_provisioning_twice_creates_each_stream_and_bucket_once(nc: NatsClient, namespace: Namespace) -> None:
    js = nc.jetstream()
    await provision(js, ALL_STREAMS, ALL_BUCKETS, namespace)
    await provision(js, ALL_STREAMS, ALL_BUCKETS, namespace)

    for stream in ALL_STREAMS:
        info = await js.stream_info(namespace.stream(stream.name))
        assert info.config.subjects == [namespace.subject(s) for s in stream.subjects]
    for bucket in ALL_BUCKETS:
        kv = await js.key_value(namespace.bucket(bucket.bucket))
        assert (await kv.status()).bucket == namespace.bucket(bucket.bucket)
    router = await js.stream_info(namespace.stream("ROUTER"))
    assert router.config.subjects == [namespace.subject("router.>")]
    assert router.config.duplicate_window == ROUTER_STREAM.duplicate_window_s


async def test_a_changed_spec_updates_the_stream_in_place(nc: NatsClient, namespace: Namespace) -> None:
    js = nc.jetstream()
    await ensure_stream(js, ROUTER_STREAM, namespace)
    longer = StreamSpec(name="ROUTER", subjects=("router.>",), max_age_s=90 * 86_400.0)

    await ensure_stream(js, longer, namespace)

    assert (await js.stream_info(namespace.stream("ROUTER"))).config.max_age == longer.max_age_s
