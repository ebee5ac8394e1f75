"""``verify`` passes on a good ledger and names the broken invariant on a tampered one; trials expire in SQL."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.billing.conftest import completed, registered, scalar
from tollway.billing import handlers
from tollway.billing.bootstrap import BillingServices
from tollway.billing.domain.admin import AdminCredit, RefundRequest
from tollway.billing.domain.pages import make_query
from tollway.billing.settings import BillingSettings
from tollway.billing.verify import audit
from tollway.contracts import CreditDeductedV1, decode
from tollway.testing.processes import service_env


async def good_ledger(s: BillingServices) -> None:
    for user in ("usr_1", "usr_2"):
        await handlers.open_accounts(
            [registered(user)], s.ledger, s.balances, consumer="t", policy=s.policy, clock=s.clock
        )
    events = [completed(f"r{i}", 1_000 * i, ("usr_1", "usr_2")[i % 2]) for i in range(1, 30)]
    await handlers.settle_usage(events, s.ledger, s.balances, consumer="u", policy=s.policy, clock=s.clock)
    account = await s.ledger.account("usr_1")
    assert account is not None
    usage = await s.ledger.transactions(
        account.id, make_query(limit=5, type_="usage", since=None, until=None, cursor=None)
    )
    request = RefundRequest(transaction_id=usage[0].id, amount_micros=10, admin="ops")
    await handlers.refund_usage(request, s.ledger, s.balances, s.policy, s.clock)


def run_verify(settings: BillingSettings) -> subprocess.CompletedProcess[str]:
    env = service_env(
        "billing",
        database_url=settings.database_url,
        nats_url=settings.nats_url,
        redis_url=settings.redis_url,
        namespace=settings.namespace,
    )
    return subprocess.run(
        [sys.executable, "-m", "tollway.billing", "verify"],
        env={**env, "TOLLWAY_ENV": "development"},  # the tests' development secret is allowed
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_verify_passes_on_a_good_ledger(services: BillingServices, settings: BillingSettings) -> None:
    await good_ledger(services)
    report = await audit(settings)
    assert report.passed, report.render()
    assert (report.accounts, report.transactions) == (2, 2 + 29 + 1)
    process = await asyncio.to_thread(run_verify, settings)
    assert process.returncode == 0, process.stdout + process.stderr
    assert "all invariants hold" in process.stdout


@pytest.mark.parametrize(
    ("tamper", "check"),
    [
        ("UPDATE billing.accounts SET balance_micros = balance_micros + 1 WHERE user_id = 'usr_1'", "balance_is_sum"),
        (
            "UPDATE billing.transactions SET amount_micros = amount_micros - 5 "
            "WHERE id = (SELECT id FROM billing.transactions WHERE type = 'usage' LIMIT 1)",
            "balance_is_sum",
        ),
        (
            "UPDATE billing.transactions SET balance_after_micros = 0 "
            "WHERE id = (SELECT id FROM billing.transactions WHERE type = 'usage' LIMIT 1)",
            "running_balance",
        ),
        ("UPDATE billing.accounts SET version = version + 1 WHERE user_id = 'usr_2'", "version_is_last_seq"),
        (
            "UPDATE billing.transactions SET metadata = jsonb_set(metadata, '{request_id}', '\"r1\"') "
            "WHERE metadata->>'request_id' = 'r2'",
            "one_usage_per_request",
        ),
        (
            "UPDATE billing.transactions SET amount_micros = 10000000 WHERE type = 'refund';"
            "UPDATE billing.accounts SET balance_micros = balance_micros + 9999990 WHERE user_id = 'usr_1'",
            "refund_within_charge",
        ),
    ],
)
async def test_verify_fails_on_a_tampered_ledger(
    services: BillingServices, settings: BillingSettings, engine: AsyncEngine, tamper: str, check: str
) -> None:
    await good_ledger(services)
    async with engine.begin() as conn:
        for statement in tamper.split(";"):
            await conn.execute(text(statement))
    report = await audit(settings)
    failed = {r.name for r in report.results if not r.passed}
    assert check in failed, report.render()


async def test_verify_process_exits_non_zero_with_the_reason(
    services: BillingServices, settings: BillingSettings, engine: AsyncEngine
) -> None:
    await good_ledger(services)
    async with engine.begin() as conn:  # a balance changed without a transaction row
        await conn.execute(text("UPDATE billing.accounts SET balance_micros = -5000000 WHERE user_id = 'usr_2'"))
    process = await asyncio.to_thread(run_verify, settings)
    assert process.returncode == 1
    assert "FAIL balance_is_sum" in process.stdout
    assert "FAIL overspend_bound" in process.stdout
    assert "usr_2" in process.stdout
    assert "INVARIANTS VIOLATED" in process.stdout


async def test_expired_trial_is_deducted_once_and_published(services: BillingServices, engine: AsyncEngine) -> None:
    s = services
    await handlers.open_accounts(
        [registered("usr_1")], s.ledger, s.balances, consumer="t", policy=s.policy, clock=s.clock
    )
    await handlers.settle_usage(
        [completed("r1", 1_200_000)], s.ledger, s.balances, consumer="u", policy=s.policy, clock=s.clock
    )
    purchase = AdminCredit(
        kind="grant", user_id="usr_1", amount_micros=10_000_000, description="", idempotency_key="k", admin="ops"
    )
    await handlers.credit_account(purchase, s.ledger, s.balances, s.policy, s.clock)
    later = lambda: s.clock() + timedelta(days=3, seconds=1)  # noqa: E731
    assert await handlers.expire_trials(s.ledger, s.balances, s.policy, s.clock) == 0
    assert await handlers.expire_trials(s.ledger, s.balances, s.policy, later) == 1
    assert await handlers.expire_trials(s.ledger, s.balances, s.policy, later) == 0
    account = await s.ledger.account("usr_1")
    assert account is not None
    assert (account.balance_micros, account.trial_expires_at) == (10_000_000, None)
    payload = await scalar(engine, "SELECT payload FROM billing.outbox WHERE subject = 'billing.credit.deducted.v1'")
    deducted = decode(CreditDeductedV1, payload)
    assert (deducted.kind, deducted.amount_micros, deducted.balance_after_micros) == ("expiry", -3_800_000, 10_000_000)
