"""Balance alerts become mail through the real path: BILLING stream → mailer's consumer → outbox → SMTP sink."""

from __future__ import annotations

import asyncio
import email
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from nats.aio.client import Client as NatsClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.gateway.conftest import Client
from tests.integration.gateway.test_accounts_api import register
from tollway.contracts import BalanceExhaustedV1, BalanceLowV1, encode, subject_of
from tollway.contracts.streams import BILLING_STREAM
from tollway.gateway.consumers.balance_alerts import DURABLES, stage_alert_mail
from tollway.gateway.db.tables import mail_outbox
from tollway.gateway.mail import run_mailer
from tollway.gateway.mail_sink import serve_sink
from tollway.gateway.settings import GatewaySettings
from tollway.platform.messaging import JetStreamPublisher, Namespace, ensure_stream
from tollway.testing.processes import free_port

pytestmark = pytest.mark.integration


@pytest.fixture
async def sink(tmp_path: Path) -> AsyncIterator[tuple[int, Path]]:
    port, stop = free_port(), asyncio.Event()
    task = asyncio.create_task(serve_sink("127.0.0.1", port, str(tmp_path / "mail"), stop))
    await asyncio.sleep(0.1)
    yield port, tmp_path / "mail"
    stop.set()
    await task


def _read(directory: Path) -> list[email.message.Message]:
    return [email.message_from_bytes(p.read_bytes()) for p in sorted(directory.glob("*.eml"))]


async def _messages(directory: Path, count: int, within_s: float = 15.0) -> list[email.message.Message]:
    for _ in range(int(within_s / 0.1)):
        if len(messages := _read(directory)) >= count:
            return messages
        await asyncio.sleep(0.1)
    raise AssertionError(f"{count} messages expected in {directory}, found {len(_read(directory))}")


async def test_low_and_exhausted_alerts_are_mailed_once_each(
    client: Client,
    settings: GatewaySettings,
    nc: NatsClient,
    namespace: Namespace,
    engine: AsyncEngine,
    sink: tuple[int, Path],
) -> None:
    port, directory = sink
    user = (await register(client))["user"]
    low = BalanceLowV1(account_id="acc-1", user_id=user["id"], balance_micros=900_000, threshold_micros=1_000_000)
    exhausted = BalanceExhaustedV1(account_id="acc-1", user_id=user["id"], balance_micros=-1_250_000)
    js = nc.jetstream()
    await ensure_stream(js, BILLING_STREAM, namespace)
    publisher = JetStreamPublisher(js, namespace)
    await publisher.publish(low)
    await publisher.publish(exhausted)
    # A redelivery: the same event under another message id passes JetStream's dedupe window, not the inbox.
    await publisher.publish_raw(subject_of(low), encode(low), msg_id="redelivered-" + low.event_id)

    stop = asyncio.Event()
    mailer = asyncio.create_task(run_mailer(_with(settings, smtp_port=port, mail_poll_s=0.1), stop))
    try:
        messages = await _messages(directory, 2)
        await asyncio.sleep(1.0)  # the redelivered copy has had its chance to produce a third
    finally:
        stop.set()
        await asyncio.wait_for(mailer, 15)

    assert len(_read(directory)) == 2
    by_subject = {m["Subject"]: m for m in messages}
    assert set(by_subject) == {"Your Tollway balance is low", "Your Tollway balance is used up"}
    assert {m["To"] for m in messages} == {"ada@example.com"}
    low_body = by_subject["Your Tollway balance is low"].get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert "$0.90, below $1.00" in low_body
    assert "/console/#/credits" in low_body
    used_up = by_subject["Your Tollway balance is used up"].get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert "balance is -$1.25: paid requests are now refused" in used_up

    # Handled again directly (a consumer that crashed after committing): the inbox stages nothing.
    durable = dict(DURABLES)[BalanceLowV1]
    assert await stage_alert_mail(engine, durable, [low], settings.public_url) == 0
    async with engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(mail_outbox))).scalar_one() == 2


async def test_an_alert_for_an_unknown_user_stages_nothing(engine: AsyncEngine, settings: GatewaySettings) -> None:
    alert = BalanceExhaustedV1(account_id="acc-x", user_id="usr_missing", balance_micros=0)
    assert await stage_alert_mail(engine, "gateway__balance_exhausted", [alert], settings.public_url) == 0


def _with(settings: GatewaySettings, **changes: Any) -> GatewaySettings:
    fields = {name: getattr(settings, name) for name in settings.__struct_fields__}
    return GatewaySettings(**{**fields, **changes})
