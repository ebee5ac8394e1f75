"""``verify`` over coupons and key budgets: a clean ledger passes; each seeded violation is named with its row."""

from __future__ import annotations

import asyncio

import msgspec
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.billing.conftest import completed, registered
from tests.integration.billing.test_verify_and_expiry import run_verify
from tollway.billing import budgets, coupons, handlers
from tollway.billing.bootstrap import BillingServices
from tollway.billing.domain.coupons import CouponDraft, Redemption
from tollway.billing.settings import BillingSettings
from tollway.billing.verify import audit
from tollway.contracts import ApiKeyBudgetChangedV1

BOUND = 1_000  # a tighter overspend bound than the default $1, so a few requests can pass it
UNANNOUNCE = (
    "UPDATE billing.key_spend SET exceeded_event_id = NULL WHERE api_key_id = 'key_1' AND budget_window = 'day'"
)
ANNOUNCED = "SELECT count(*) FROM billing.key_spend WHERE exceeded_event_id IS NOT NULL"


async def clean_ledger(s: BillingServices) -> None:
    """Two users redeem a coupon; key_1 crosses its daily limit; key_2 stays under its monthly one."""
    for user in ("usr_1", "usr_2"):
        await handlers.open_accounts(
            [registered(user)], s.ledger, s.balances, consumer="t", policy=s.policy, clock=s.clock
        )
    draft = CouponDraft(code="SPRING", value_micros=2_000_000, max_uses=5)
    await coupons.create_coupon(draft, "create-spring", "ops", s.ledger, policy=s.policy, clock=s.clock)
    for user in ("usr_1", "usr_2"):
        redemption = Redemption(code="spring", user_id=user, idempotency_key=f"r-{user}")
        await coupons.redeem_coupon(redemption, s.ledger, s.balances, s.policy, s.clock)
    changes = [
        ApiKeyBudgetChangedV1(api_key_id="key_1", user_id="usr_1", spend_limit_day_micros=10_000),
        ApiKeyBudgetChangedV1(api_key_id="key_2", user_id="usr_2", spend_limit_month_micros=1_000_000),
    ]
    await budgets.record_key_budgets(changes, s.ledger, consumer="b")
    usage = [completed(f"k1-{i}", 3_000) for i in range(5)]
    usage += [completed(f"k2-{i}", 3_000, "usr_2", api_key_id="key_2") for i in range(3)]
    await handlers.settle_usage(usage, s.ledger, s.balances, consumer="u", policy=s.policy, clock=s.clock)


async def test_a_clean_ledger_with_coupons_and_budgets_passes(
    services: BillingServices, settings: BillingSettings, engine: AsyncEngine
) -> None:
    await clean_ledger(services)
    async with engine.connect() as conn:
        announced = (await conn.execute(text(ANNOUNCED))).scalar_one()
    assert announced == 1  # key_1's day
    report = await audit(settings)
    assert report.passed, report.render()
    checks = {r.name for r in report.results}
    assert {
        "coupon_once_per_user",
        "key_spend_is_sum",
        "budget_overspend_bound",
        "one_budget_event_per_period",
    } <= checks


@pytest.mark.parametrize(
    ("tamper", "check", "named"),
    [
        (  # a second credit for the same coupon and user, under another reference
            "INSERT INTO billing.transactions (id, account_id, seq, type, amount_micros, balance_after_micros, "
            "reference, metadata, created_at) SELECT 'txn_dup', t.account_id, 99, 'coupon', 0, 0, "
            "t.reference || '/again', t.metadata, now() FROM billing.transactions t WHERE t.type = 'coupon' "
            "ORDER BY t.id LIMIT 1",
            "coupon_once_per_user",
            "SPRING / usr_",
        ),
        (
            "UPDATE billing.coupons SET value_micros = 3000000",  # the coupon now says its redemptions were short
            "one_ledger_row_per_redemption",
            "from a coupon worth 3000000",
        ),
        (
            "UPDATE billing.coupons SET times_used = 1, max_uses = 1",  # two redemptions of a one-use coupon
            "coupon_uses_within_max",
            "SPRING",
        ),
        (
            "UPDATE billing.key_spend SET spent_micros = 1 WHERE api_key_id = 'key_1' AND budget_window = 'day'",
            "key_spend_is_sum",
            "key_1 day",
        ),
        (  # the limit at the latest debit was more than the bound below the spend
            "UPDATE billing.key_spend SET limit_micros = 10 WHERE api_key_id = 'key_1' AND budget_window = 'day'",
            "budget_overspend_bound",
            "spent 15000 against a limit of 10",
        ),
        (  # over the limit, but no announcement recorded
            UNANNOUNCE,
            "one_budget_event_per_period",
            "but no budget.exceeded",
        ),
        (  # a second announcement staged for the same period
            "INSERT INTO billing.outbox (event_id, subject, payload, headers) SELECT 'dup-' || event_id, subject, "
            "payload, headers FROM billing.outbox WHERE subject = 'billing.budget.exceeded.v1'",
            "one_budget_event_per_period",
            "2 budget.exceeded events staged",
        ),
        (  # key_2's month is under its limit; an announcement for it was never decided by a debit
            "INSERT INTO billing.outbox (event_id, subject, payload, headers) SELECT 'dup-' || event_id, subject, "
            "convert_to(replace(convert_from(payload, 'UTF8'), '\"key_1\"', '\"key_9\"'), 'UTF8'), headers "
            "FROM billing.outbox WHERE subject = 'billing.budget.exceeded.v1'",
            "one_budget_event_per_period",
            "for a period never counted",
        ),
    ],
)
async def test_verify_reports_each_coupon_and_budget_violation(
    services: BillingServices, settings: BillingSettings, engine: AsyncEngine, tamper: str, check: str, named: str
) -> None:
    await clean_ledger(services)
    async with engine.begin() as conn:
        await conn.execute(text(tamper))
    report = await audit(msgspec.structs.replace(settings, overspend_bound_micros=BOUND))
    failed = {r.name: r for r in report.results if not r.passed}
    assert check in failed, report.render()
    assert any(named in example for example in failed[check].examples), report.render()


async def test_the_verify_process_names_a_budget_failure(
    services: BillingServices, settings: BillingSettings, engine: AsyncEngine
) -> None:
    await clean_ledger(services)
    async with engine.begin() as conn:
        await conn.execute(text(UNANNOUNCE))
    process = await asyncio.to_thread(run_verify, settings)
    assert process.returncode == 1, process.stdout
    assert "FAIL one_budget_event_per_period" in process.stdout
    assert "key_1 day" in process.stdout
