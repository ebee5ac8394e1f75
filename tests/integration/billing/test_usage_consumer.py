"""The usage consumer on real NATS/Postgres: one debit per request id whatever the delivery pattern."""

from __future__ import annotations

from typing import Any

from nats.aio.client import Client as NatsClient
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.billing.conftest import completed, drained, kv_value, registered, scalar
from tollway.contracts import encode
from tollway.contracts.streams import BalanceValue
from tollway.platform.messaging import JetStreamPublisher, Namespace
from tollway.testing.processes import eventually

USAGE = "billing__request_completed"
SUBJECT = "router.request.completed.v1"
USAGE_ROWS = "SELECT count(*) FROM billing.transactions WHERE type = 'usage'"
BALANCE = "SELECT balance_micros FROM billing.accounts WHERE user_id = :u"


async def test_duplicates_in_a_batch_and_across_batches_debit_once(
    engine: AsyncEngine, publisher: JetStreamPublisher, consumers: Any, nc: NatsClient, namespace: Namespace
) -> None:
    await publisher.publish(registered("usr_1"))
    first = [completed(f"r{i}", 1_000 + i) for i in range(50)]
    async with consumers():
        for event in first:
            await publisher.publish(event)
            # The same event under another Nats-Msg-Id: JetStream stores both, so one batch holds both.
            await publisher.publish_raw(SUBJECT, encode(event), f"{event.event_id}-copy")
        await eventually(lambda: drained(nc, namespace, USAGE), within=20, what="first deliveries acked")
        for event in first[:10]:  # across batches: delivered again long after the first copy settled
            await publisher.publish_raw(SUBJECT, encode(event), f"{event.event_id}-late")
        await eventually(lambda: drained(nc, namespace, USAGE), within=20, what="late copies acked")
        value = await balance_in_bucket(nc, namespace, "usr_1", version=51)
    assert await scalar(engine, USAGE_ROWS) == 50
    expected = 5_000_000 - sum(e.cost_micros for e in first)
    assert await scalar(engine, BALANCE, u="usr_1") == expected
    assert (value.balance_micros, value.version) == (expected, 51)
    assert await scalar(engine, "SELECT count(*) FROM billing.outbox WHERE subject = 'billing.credit.debited.v1'") == 50


async def test_a_new_event_id_for_a_settled_request_never_debits_twice(
    engine: AsyncEngine, publisher: JetStreamPublisher, consumers: Any, nc: NatsClient, namespace: Namespace
) -> None:
    """After the duplicate window a producer may republish with a new Nats-Msg-Id (even a new event id)."""
    event = completed("req-a", 7_000)
    async with consumers():
        await publisher.publish(event)
        await eventually(lambda: drained(nc, namespace, USAGE), within=20, what="first delivery")
        await publisher.publish_raw(SUBJECT, encode(event), "req-a-republished")
        await publisher.publish(completed("req-a", 7_000, event_id="a-brand-new-event-id"))
        await eventually(lambda: drained(nc, namespace, USAGE), within=20, what="republished copies")
    assert await scalar(engine, USAGE_ROWS) == 1
    assert await scalar(engine, BALANCE, u="usr_1") == -7_000


async def test_anonymous_free_and_unknown_users(
    engine: AsyncEngine, publisher: JetStreamPublisher, consumers: Any, nc: NatsClient, namespace: Namespace
) -> None:
    async with consumers():
        await publisher.publish(completed("anon", 500, None, is_anonymous=True))
        await publisher.publish(completed("free", 0))
        await publisher.publish(completed("early", 300, "usr_new"))  # usage before the registration event
        await eventually(lambda: drained(nc, namespace, USAGE), within=20, what="usage acked")
        await publisher.publish(registered("usr_new"))
        await publisher.publish(registered("usr_new", event_id="reg-again"))
        await eventually(lambda: drained(nc, namespace, "billing__user_registered", "GATEWAY"), within=20)
    claimed = await scalar(engine, "SELECT count(*) FROM billing.inbox WHERE consumer = :c", c=USAGE)
    assert claimed == 3
    assert await scalar(engine, USAGE_ROWS) == 1
    assert await scalar(engine, BALANCE, u="usr_new") == 5_000_000 - 300
    assert await scalar(engine, "SELECT count(*) FROM billing.transactions WHERE type = 'trial'") == 1


async def balance_in_bucket(nc: NatsClient, namespace: Namespace, user_id: str, version: int) -> BalanceValue:
    async def written() -> bool:
        try:
            return (await kv_value(nc, namespace, user_id)).version >= version
        except Exception:
            return False

    await eventually(written, within=10, what=f"balance version {version} in the bucket")
    return await kv_value(nc, namespace, user_id)
