"""The mailer role: sends what the mail outbox holds over SMTP (aiosmtplib), then erases the body.

It also runs the consumers whose effect is mail (billing's balance alerts), so mail needs one process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from email.message import EmailMessage
from typing import Protocol

import aiosmtplib

from tollway.contracts import utc_now
from tollway.gateway.accounts_ports import AccountsStore
from tollway.gateway.consumers import balance_alerts
from tollway.gateway.db.tables import messaging
from tollway.gateway.db.uow import SqlAlchemyAccountStore
from tollway.gateway.domain.accounts_records import Mail
from tollway.gateway.settings import GatewaySettings, load
from tollway.platform.cli import Role
from tollway.platform.infra import open_infra
from tollway.platform.logging import configure_logging
from tollway.platform.runner import run_consumers

log = logging.getLogger(__name__)
BATCH = 20
MAX_ATTEMPTS = 8  # then the body is dropped: a reset link older than its token is useless anyway


class MailSender(Protocol):
    async def send(self, mail: Mail) -> None: ...


class SmtpSender:
    def __init__(self, settings: GatewaySettings) -> None:
        self._settings = settings

    async def send(self, mail: Mail) -> None:
        message = EmailMessage()
        message["From"] = self._settings.mail_from
        message["To"] = mail.recipient
        message["Subject"] = mail.subject
        message.set_content(mail.body)
        await aiosmtplib.send(
            message,
            hostname=self._settings.smtp_host,
            port=self._settings.smtp_port,
            username=self._settings.smtp_username or None,
            password=self._settings.smtp_password or None,
            start_tls=self._settings.smtp_starttls,
            timeout=10,
        )


async def send_due(store: AccountsStore, sender: MailSender) -> int:
    """Send one batch of due mail; each row is locked while it is sent, so parallel mailers never double-send."""
    sent = 0
    async with store.transaction() as uow:
        for mail in await uow.mail.due(utc_now(), BATCH):
            try:
                await sender.send(mail)
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                attempts = mail.attempts + 1
                retry_at = utc_now() + timedelta(seconds=min(300, 2**attempts))
                await uow.mail.failed(mail.id, type(exc).__name__, retry_at, give_up=attempts >= MAX_ATTEMPTS)
                log.warning("mail %d not sent (%s); attempt %d", mail.id, type(exc).__name__, attempts)
                continue
            await uow.mail.sent(mail.id, utc_now())
            sent += 1
    return sent


async def run_mailer(settings: GatewaySettings, stop: asyncio.Event) -> None:
    """Send the outbox, and consume the balance alerts that stage mail into it, until stopped."""
    async with open_infra(settings, "gateway", db=True, nats=True) as infra:
        engine = infra.require_engine()
        alerts = balance_alerts.subscriptions(engine, settings.public_url)
        await asyncio.gather(
            send_until_stopped(SqlAlchemyAccountStore(engine), SmtpSender(settings), settings.mail_poll_s, stop),
            run_consumers(infra, messaging, alerts, stop),
        )


async def send_until_stopped(store: AccountsStore, sender: MailSender, poll_s: float, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            if await send_due(store, sender) == BATCH:
                continue  # more waiting: no pause
        except Exception:
            log.exception("mailer pass failed; retrying")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), poll_s)


def mail_roles() -> dict[str, Role]:
    """``mailer`` (sends the outbox) and ``mail-sink`` (a local SMTP server writing ``.eml`` files, for dev)."""

    def mailer(argv: Sequence[str]) -> None:
        settings = load()
        configure_logging("gateway", settings.log_level)
        asyncio.run(_until_signal(lambda stop: run_mailer(settings, stop)))

    def sink(argv: Sequence[str]) -> None:
        from tollway.gateway.mail_sink import serve_sink  # noqa: PLC0415 - aiosmtpd only where the sink runs

        settings = load()
        configure_logging("gateway", settings.log_level)
        asyncio.run(
            _until_signal(lambda stop: serve_sink(settings.smtp_host, settings.smtp_port, settings.mail_sink_dir, stop))
        )

    return {"mailer": mailer, "mail-sink": sink}


async def _until_signal(run: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await run(stop)
