"""A pull subscription whose waiting messages skip nats-py's per-message task still fetches exactly as before."""

from __future__ import annotations

import nats.errors
import pytest
from nats.aio.client import Client as NatsClient
from nats.js import api

from tollway.contracts.streams import ROUTER_STREAM
from tollway.platform.messaging import Namespace, ensure_stream
from tollway.platform.messaging.queued_first import queued_first

SUBJECT = "router.request.completed.v1"


async def test_a_fetch_takes_waiting_messages_in_order_and_keeps_nats_accounting(
    nc: NatsClient, namespace: Namespace
) -> None:
    js = nc.jetstream()
    await ensure_stream(js, ROUTER_STREAM, namespace)
    for i in range(500):
        await js.publish(namespace.subject(SUBJECT), f"m{i:03d}".encode())
    config = api.ConsumerConfig(ack_policy=api.AckPolicy.EXPLICIT)
    pull = queued_first(
        await js.pull_subscribe(
            namespace.subject(SUBJECT),
            durable="queued_first",
            stream=namespace.stream(ROUTER_STREAM.name),
            config=config,
        )
    )
    got: list[bytes] = []
    while len(got) < 500:
        batch = await pull.fetch(200, timeout=10)  # generous: CI machines are loaded
        got += [msg.data for msg in batch]
        for msg in batch:
            await msg.ack()
    assert got == [f"m{i:03d}".encode() for i in range(500)]
    assert pull.pending_bytes == 0  # nats-py's own byte count, kept by the shortcut
    with pytest.raises(nats.errors.TimeoutError):
        await pull.fetch(10, timeout=0.3)  # an empty queue still takes nats-py's path, timeout included

    await js.publish(namespace.subject(SUBJECT), b"late")
    assert [msg.data for msg in await pull.fetch(10, timeout=10)] == [b"late"]
    await pull.unsubscribe()  # else the client's drain at teardown waits out its 30 s for the pull's queue
