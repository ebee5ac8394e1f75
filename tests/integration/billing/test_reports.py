"""Operator and user reads on Postgres: the ledger list, bulk grants, refund caps, summaries, trials, statements."""

from __future__ import annotations

import asyncio
import csv
import io
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from nats.aio.client import Client as NatsClient
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.billing.conftest import completed, registered, scalar
from tests.integration.billing.test_coupons import admin, user
from tests.integration.billing.test_http_api import _fields, assert_error
from tollway.billing import handlers
from tollway.billing.app import create_app
from tollway.billing.bootstrap import BillingServices
from tollway.billing.domain.admin import AdminCredit
from tollway.billing.settings import BillingSettings

Client = AsyncTestClient[Litestar]
BULK = "/admin/v1/grants/bulk"


@pytest.fixture
async def client(settings: BillingSettings, nc: NatsClient) -> AsyncIterator[Client]:
    tight = BillingSettings(**{**_fields(settings), "admin_daily_limit_micros": 100_000_000})
    async with AsyncTestClient(create_app(tight)) as test_client:
        yield test_client


def at(when: datetime) -> Callable[[], datetime]:
    return lambda: when


async def usage(s: BillingServices, request_id: str, cost: int, when: datetime, **fields: Any) -> None:
    event = completed(request_id, cost, **fields)
    await handlers.settle_usage([event], s.ledger, s.balances, consumer="t", policy=s.policy, clock=at(when))


async def test_bulk_grants_dedupe_apply_the_daily_limit_and_replay(client: Client, engine: AsyncEngine) -> None:
    users = [f"usr_{i}" for i in range(12)] + ["usr_0", "usr_1"]  # 12 distinct
    body = {"user_ids": users, "amount_micros": 10_000_000, "description": "outage credit"}
    response = await client.post(BULK, json=body, headers=admin("bulk-1"))
    assert response.status_code == 201, response.text
    result = response.json()
    assert (result["status"], result["requested"], result["unique"]) == ("partial", 14, 12)
    assert (result["succeeded"], result["failed"], result["total_micros"]) == (10, 2, 100_000_000)
    assert [r["user_id"] for r in result["results"]] == [f"usr_{i}" for i in range(12)]
    assert {r["error_code"] for r in result["results"] if r["status"] == "failed"} == {"limit_exceeded"}
    replay = await client.post(BULK, json=body, headers=admin("bulk-1"))
    assert replay.json() == result
    assert replay.headers["idempotent-replayed"] == "true"
    assert await scalar(engine, "SELECT count(*) FROM billing.transactions WHERE type = 'grant'") == 10
    assert_error(await client.post(BULK, json={**body, "amount_micros": 1}, headers=admin("bulk-1")), 409,
                 "idempotency_key_reused", "Idempotency-Key")  # fmt: skip
    too_many = {"user_ids": [f"u{i}" for i in range(101)], "amount_micros": 1}
    assert_error(await client.post(BULK, json=too_many, headers=admin("bulk-2")), 400, "invalid_value", "user_ids")
    exhausted = await client.post(BULK, json={"user_ids": ["usr_x"], "amount_micros": 1}, headers=admin("bulk-3"))
    assert exhausted.json()["status"] == "failed"


async def test_concurrent_bulk_grants_never_pass_the_daily_limit(client: Client, engine: AsyncEngine) -> None:
    bodies = [{"user_ids": [f"b{k}_{i}" for i in range(5)], "amount_micros": 7_000_000} for k in range(6)]
    responses = await asyncio.gather(
        *(client.post(BULK, json=b, headers=admin(f"race-{k}")) for k, b in enumerate(bodies))
    )
    assert {r.status_code for r in responses} == {201}
    granted = await scalar(engine, "SELECT coalesce(sum(amount_micros), 0) FROM billing.transactions")
    assert granted == sum(r.json()["total_micros"] for r in responses)
    assert granted <= 100_000_000
    assert granted > 100_000_000 - 7_000_000  # the limit was used up, one grant short at most


async def test_partial_refunds_race_and_never_exceed_the_charge(
    client: Client, services: BillingServices, engine: AsyncEngine
) -> None:
    await usage(services, "r1", 1_000_000, datetime.now(UTC))
    charge = await scalar(engine, "SELECT id FROM billing.transactions WHERE type = 'usage'")
    path = f"/admin/v1/transactions/{charge}/refund"
    responses = await asyncio.gather(
        *(client.post(path, json={"amount_micros": 300_000}, headers=admin(f"ref-{i}")) for i in range(8))
    )
    assert Counter(r.status_code for r in responses) == {201: 3, 422: 5}
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 422} == {"refund_exceeds_charge"}
    rest = await client.post(path, headers=admin())
    assert rest.json()["amount_micros"] == 100_000
    assert_error(await client.post(path, headers=admin()), 409, "already_refunded", "transaction_id")
    total = "SELECT sum(amount_micros) FROM billing.transactions WHERE type = 'refund'"
    assert await scalar(engine, total) == 1_000_000
    report = await handlers.verify_ledger(services.ledger, services.policy)
    assert report.passed, report.render()


async def test_operator_list_filters_sorts_and_pages(client: Client, services: BillingServices) -> None:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    for i in range(7):
        await usage(services, f"r{i}", (i + 1) * 100, start + timedelta(hours=i), user_id=f"usr_{i % 2}")
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"sort": "amount", "order": "asc", "limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/admin/v1/transactions", params=params, headers=admin())).json()
        seen += [t["amount_micros"] for t in page["data"]]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    assert seen == [-700, -600, -500, -400, -300, -200, -100]
    mine = (await client.get("/admin/v1/transactions", params={"user_id": "usr_1"}, headers=admin())).json()
    assert [t["amount_micros"] for t in mine["data"]] == [-600, -400, -200]  # newest first
    assert {t["user_id"] for t in mine["data"]} == {"usr_1"}
    since = (start + timedelta(hours=3)).isoformat()
    ranged: dict[str, str | int] = {"min_amount": -500, "max_amount": -300, "from": since}
    picked = (await client.get("/admin/v1/transactions", params=ranged, headers=admin())).json()
    assert [t["amount_micros"] for t in picked["data"]] == [-500, -400]
    wrong_cursor = {"sort": "created_at", "cursor": page["next_cursor"] or cursor or "x"}
    assert (await client.get("/admin/v1/transactions", params=wrong_cursor, headers=admin())).status_code == 400
    for bad, param in (({"sort": "size"}, "sort"), ({"order": "up"}, "order"), ({"limit": 0}, "limit"),
                       ({"type": "gift"}, "type"), ({"min_amount": 5, "max_amount": 1}, "min_amount")):  # fmt: skip
        refused = await client.get("/admin/v1/transactions", params=bad, headers=admin())
        assert_error(refused, 400, "invalid_value", param)


async def test_summaries_for_operators_and_users(client: Client, services: BillingServices) -> None:
    now = datetime.now(UTC)
    s = services
    await handlers.open_accounts([registered("usr_1", is_trial_eligible=True)], s.ledger, s.balances,
                                 consumer="reg", policy=s.policy, clock=at(now))  # fmt: skip
    await usage(s, "r1", 400_000, now, requested_model="gpt-a", api_key_id="key_a")
    await usage(s, "r2", 100_000, now, requested_model="gpt-b", api_key_id="key_a")
    await usage(s, "r3", 50_000, now - timedelta(days=1), requested_model="gpt-a", api_key_id="key_b")
    summary = (await client.get("/v1/credits/summary", params={"days": 7}, headers=user())).json()
    assert (summary["balance_micros"], summary["spend_micros"], summary["requests"]) == (4_450_000, 550_000, 3)
    assert [(m["key"], m["spend_micros"]) for m in summary["by_model"]] == [("gpt-a", 450_000), ("gpt-b", 100_000)]
    assert [(k["key"], k["requests"]) for k in summary["by_key"]] == [("key_a", 2), ("key_b", 1)]
    assert [d["spend_micros"] for d in summary["by_day"]] == [50_000, 500_000]
    assert (summary["trial"]["state"], summary["trial"]["granted_micros"]) == ("active", 5_000_000)
    stranger = (await client.get("/v1/credits/summary", headers=user("usr_new"))).json()
    assert (stranger["balance_micros"], stranger["trial"]["state"]) == (0, "none")
    assert_error(await client.get("/v1/credits/summary", params={"days": 91}, headers=user()), 400, "invalid_value",
                 "days")  # fmt: skip

    system = (await client.get("/admin/v1/credits/summary", headers=admin())).json()
    assert (system["accounts"], system["balance_micros"], system["transactions"]) == (1, 4_450_000, 4)
    assert (system["credits_micros"], system["debits_micros"]) == (5_000_000, -550_000)
    assert system["by_type"]["usage"] == {"count": 3, "total_micros": -550_000}
    assert (system["largest_credit_micros"], system["largest_debit_micros"]) == (5_000_000, -400_000)
    one = (await client.get("/admin/v1/credits/summary", params={"user_id": "usr_1"}, headers=admin())).json()
    assert one["balance_micros"] == 4_450_000
    missing = await client.get("/admin/v1/credits/summary", params={"user_id": "nobody"}, headers=admin())
    assert_error(missing, 404, "not_found", "user_id")


async def test_trial_analytics_from_billings_own_ledger(client: Client, services: BillingServices) -> None:
    s, now = services, datetime.now(UTC)
    long_ago = now - timedelta(days=10)
    events = [registered(u, is_trial_eligible=True) for u in ("t1", "t2", "t3")]
    await handlers.open_accounts(events[:2], s.ledger, s.balances, consumer="reg", policy=s.policy, clock=at(long_ago))
    await handlers.open_accounts(events[2:], s.ledger, s.balances, consumer="reg", policy=s.policy, clock=at(now))
    await usage(s, "r1", 1_500_000, long_ago + timedelta(hours=1), user_id="t1")
    await handlers.expire_trials(s.ledger, s.balances, s.policy, at(now))
    await client.post("/admin/v1/accounts/t1/grants", json={"amount_micros": 20_000_000}, headers=admin("paid"))
    body = (await client.get("/admin/v1/trials/analytics", headers=admin())).json()
    assert (body["total_trials"], body["active_trials"], body["expired_trials"]) == (3, 1, 2)
    assert (body["converted_trials"], body["conversion_rate"], body["trials_with_usage"]) == (1, 0.3333, 1)
    assert body["trial_credit_granted_micros"] == 15_000_000
    assert (body["trial_credit_used_micros"], body["trial_credit_expired_micros"]) == (1_500_000, 8_500_000)


async def test_statement_reconciles_with_the_ledger_in_json_and_csv(client: Client, services: BillingServices) -> None:
    s = services
    october, november = datetime(2026, 10, 20, tzinfo=UTC), datetime(2026, 11, 5, tzinfo=UTC)
    grant = AdminCredit(kind="grant", user_id="usr_1", amount_micros=9_000_000, description="=SUM(A1)",
                                       idempotency_key="g", admin="ops")  # fmt: skip
    await handlers.credit_account(grant, s.ledger, s.balances, s.policy, at(october))
    await usage(s, "r1", 1_000_000, october + timedelta(days=1))
    for i in range(3):
        await usage(s, f"n{i}", 250_000, november + timedelta(days=i))
    path = "/admin/v1/accounts/usr_1/statement"
    nov = (await client.get(path, params={"month": "2026-11"}, headers=admin())).json()
    assert (nov["opening_balance_micros"], nov["closing_balance_micros"], nov["reconciled"]) == (
        8_000_000, 7_250_000, True,
    )  # fmt: skip
    assert [t["amount_micros"] for t in nov["transactions"]] == [-250_000] * 3
    octo = (await client.get(path, params={"month": "2026-10"}, headers=admin())).json()
    assert (octo["opening_balance_micros"], octo["closing_balance_micros"]) == (0, nov["opening_balance_micros"])
    december = (await client.get(path, params={"month": "2026-12"}, headers=admin())).json()
    assert (december["opening_balance_micros"], december["transactions"]) == (7_250_000, [])
    balance = (await client.get("/v1/credits/balance", headers=user())).json()["balance_micros"]
    assert december["closing_balance_micros"] == balance

    csv_answer = await client.get(path, params={"month": "2026-10", "format": "csv"}, headers=admin())
    assert csv_answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(csv_answer.text)))
    assert [r["type"] for r in rows] == ["opening_balance", "grant", "usage", "closing_balance"]
    assert rows[1]["description"] == "'=SUM(A1)"  # never a formula in a spreadsheet
    assert sum(int(r["amount_micros"]) for r in rows[1:-1]) == int(rows[-1]["balance_after_micros"])
    for bad in ("2026-13", "26-01", "2026-1"):
        assert_error(await client.get(path, params={"month": bad}, headers=admin()), 400, "invalid_value", "month")
    assert_error(await client.get(path, params={"month": "2026-10", "format": "xls"}, headers=admin()), 400,
                 "invalid_value", "format")  # fmt: skip
