"""The ``worker`` role: the consumers, plus the balances-bucket writer, its resync, and the trial-expiry sweep."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress

from tollway.billing import handlers
from tollway.billing.balances import CoalescingBalances, KvBalances
from tollway.billing.bootstrap import BillingServices, build_services
from tollway.billing.consumers import subscriptions
from tollway.billing.db.tables import messaging
from tollway.billing.settings import BillingSettings, load
from tollway.platform.infra import open_infra
from tollway.platform.runner import run_consumers, run_until_signalled, start_process

log = logging.getLogger(__name__)
SERVICE = "billing"
EXPIRY_BATCH = 500


def worker_role(args: Sequence[str]) -> None:
    settings = load()
    start_process(SERVICE, settings)
    run_until_signalled(lambda stop: run_worker(settings, stop))


async def run_worker(settings: BillingSettings, stop: asyncio.Event) -> None:
    async with open_infra(settings, SERVICE, db=True, nats=True) as infra:
        writer = KvBalances(infra.js, infra.ns)
        sink = CoalescingBalances(writer, interval_s=settings.kv_flush_s)
        services = build_services(infra, settings, balances=sink)
        subs = subscriptions(services, settings)
        log.info("worker started", extra={"consumers": [s.spec.durable for s in subs]})
        await asyncio.gather(
            run_consumers(infra, messaging, subs, stop),
            sink.run(stop),
            every(settings.kv_resync_s, stop, "balances resync", lambda: _resync(services, writer)),
            every(settings.expiry_sweep_s, stop, "trial expiry", lambda: _expire(services)),
        )


async def _resync(services: BillingServices, writer: KvBalances) -> None:
    # Straight to the writer (awaited page by page), not through the coalescing sink: bounded memory.
    known = await writer.prime()
    count = await handlers.resync_balances(services.ledger, writer)
    log.info("balances bucket resynced", extra={"accounts": count, "keys_in_bucket": known})


async def _expire(services: BillingServices) -> None:
    s = services
    while await handlers.expire_trials(s.ledger, s.balances, s.policy, s.clock, EXPIRY_BATCH) >= EXPIRY_BATCH:
        pass


async def every(interval_s: float, stop: asyncio.Event, name: str, job: Callable[[], Awaitable[None]]) -> None:
    """Run ``job`` now and then every ``interval_s`` until stopped; a failure is logged and retried next time."""
    while not stop.is_set():
        try:
            await job()
        except Exception:
            log.exception("%s failed; retrying in %.0fs", name, interval_s)
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval_s)
