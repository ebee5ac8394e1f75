"""Removing what a test namespace left in NATS (streams, KV buckets) and Redis (keys), so runs leave no residue."""

from __future__ import annotations

from contextlib import suppress

from nats.aio.client import Client as NatsClient
from nats.js.errors import NotFoundError
from redis.asyncio import Redis

from tollway.contracts import ALL_BUCKETS, ALL_STREAMS
from tollway.platform.messaging import Namespace, connect_nats


async def delete_namespace_streams(client: NatsClient, namespace: Namespace) -> None:
    """Delete the namespace's copy of every declared stream and bucket (by name: listing pages at 256)."""
    js = client.jetstream()
    names = [namespace.stream(s.name) for s in ALL_STREAMS] + [f"KV_{namespace.bucket(b.bucket)}" for b in ALL_BUCKETS]
    for name in names:
        with suppress(NotFoundError):
            await js.delete_stream(name)


async def purge_namespace(nats_url: str, redis_url: str, prefix: str) -> None:
    """Delete the namespace's streams, buckets and Redis keys (services prefix their keys with it)."""
    client = await connect_nats(nats_url, "test-cleanup")
    try:
        await delete_namespace_streams(client, Namespace(prefix))
    finally:
        await client.drain()
    redis = Redis.from_url(redis_url)
    try:
        keys = [key async for key in redis.scan_iter(match=f"{prefix}:*", count=1000)]
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()
