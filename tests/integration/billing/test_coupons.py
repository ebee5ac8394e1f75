"""Coupons through the real app on Postgres: CRUD, scopes and windows, and redemption races that never overspend."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from nats.aio.client import Client as NatsClient
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.billing.conftest import SECRET, scalar
from tests.integration.billing.test_http_api import assert_error
from tollway.billing import handlers
from tollway.billing.app import create_app
from tollway.billing.bootstrap import BillingServices
from tollway.billing.settings import BillingSettings
from tollway.platform.identity import Identity, sign_identity

Client = AsyncTestClient[Litestar]
COUPONS = "/admin/v1/coupons"
REDEEM = "/v1/coupons/redeem"


def user(user_id: str = "usr_1", key: str | None = None) -> dict[str, str]:
    headers = sign_identity(Identity(request_id="req_t", user_id=user_id), SECRET.encode())
    return headers if key is None else {**headers, "Idempotency-Key": key}


def admin(key: str | None = None) -> dict[str, str]:
    headers = sign_identity(Identity(request_id="req_a", role="admin", user_id="usr_ops"), SECRET.encode())
    return headers if key is None else {**headers, "Idempotency-Key": key}


@pytest.fixture
async def client(settings: BillingSettings, nc: NatsClient) -> AsyncIterator[Client]:
    async with AsyncTestClient(create_app(settings)) as test_client:
        yield test_client


async def create(client: Client, key: str | None = None, **fields: Any) -> dict[str, Any]:
    body = {"code": "welcome10", "value_micros": 10_000_000, **fields}
    response = await client.post(COUPONS, json=body, headers=admin(key or f"create-{body['code']}"))
    assert response.status_code == 201, response.text
    return dict(response.json())


async def redeem(client: Client, user_id: str, code: str, key: str | None = None) -> Any:
    return await client.post(REDEEM, json={"code": code}, headers=user(user_id, key or f"{user_id}-{code}"))


async def test_create_read_patch_and_deactivate(client: Client) -> None:
    coupon = await create(client, max_uses=5, description="launch")
    assert (coupon["code"], coupon["value_usd"], coupon["times_used"], coupon["remaining_uses"]) == (
        "WELCOME10", "10.000000", 0, 5,
    )  # fmt: skip
    again = await client.post(COUPONS, json={"code": "welcome10", "value_micros": 10_000_000, "max_uses": 5,
                                             "description": "launch"}, headers=admin("create-welcome10"))  # fmt: skip
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == coupon["id"]
    taken = await client.post(COUPONS, json={"code": "WELCOME10", "value_micros": 1}, headers=admin("other"))
    assert_error(taken, 409, "coupon_code_taken", "code")

    one = await client.get(f"{COUPONS}/{coupon['id']}", headers=admin())
    assert one.json() == coupon
    patched = await client.patch(f"{COUPONS}/{coupon['id']}", json={"max_uses": 7}, headers=admin())
    assert patched.status_code == 200
    assert patched.json()["max_uses"] == 7
    assert_error(await client.patch(f"{COUPONS}/{coupon['id']}", json={}, headers=admin()), 400, "invalid_value")
    bad_field = await client.patch(f"{COUPONS}/{coupon['id']}", json={"value_micros": 1}, headers=admin())
    assert_error(bad_field, 400, "invalid_request", "value_micros")
    gone = await client.delete(f"{COUPONS}/{coupon['id']}", headers=admin())
    assert gone.status_code == 200
    assert gone.json()["is_active"] is False
    assert (await client.delete(f"{COUPONS}/{coupon['id']}", headers=admin())).status_code == 200
    assert_error(await client.get(f"{COUPONS}/cpn_missing", headers=admin()), 404, "coupon_not_found", "coupon_id")
    assert_error(await redeem(client, "usr_1", "welcome10"), 422, "coupon_inactive", "code")


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"code": "a b"}, "code"),
        ({"code": "ab"}, "code"),
        ({"value_micros": 0}, "value_micros"),
        ({"value_micros": 1_000_000_001}, "value_micros"),
        ({"scope": "user_specific"}, "assigned_user_id"),
        ({"scope": "user_specific", "assigned_user_id": "u", "max_uses": 2}, "max_uses"),
        ({"assigned_user_id": "u"}, "assigned_user_id"),
        ({"valid_until": "2020-01-01T00:00:00Z"}, "valid_until"),
        ({"unknown": 1}, "unknown"),
    ],
)
async def test_invalid_coupons_are_refused(client: Client, fields: dict[str, Any], param: str) -> None:
    body = {"code": "SPRING", "value_micros": 1_000_000, **fields}
    response = await client.post(COUPONS, json=body, headers=admin("k"))
    assert response.status_code in (400, 422), response.text
    assert response.json()["error"]["param"] == param


async def test_codes_are_case_insensitive_and_once_per_user(client: Client, engine: AsyncEngine) -> None:
    await create(client, code="Spring-25", value_micros=2_500_000)
    first = await redeem(client, "usr_1", "  spring-25 ")
    assert first.status_code == 201, first.text
    assert (first.json()["amount_usd"], first.json()["balance_after_micros"]) == ("2.500000", 2_500_000)
    replay = await redeem(client, "usr_1", "  spring-25 ")  # same key: the same answer
    assert replay.json() == first.json()
    assert replay.headers["idempotent-replayed"] == "true"
    assert_error(await redeem(client, "usr_1", "SPRING-25", key="new"), 409, "coupon_already_redeemed", "code")
    assert_error(await redeem(client, "usr_1", "NOPE", key="n"), 404, "coupon_not_found", "code")
    assert_error(await client.post(REDEEM, json={"code": "SPRING-25"}, headers=user("usr_2")), 400,
                 "idempotency_key_required", "Idempotency-Key")  # fmt: skip
    txn = "SELECT count(*) FROM billing.transactions WHERE type = 'coupon'"
    assert await scalar(engine, txn) == 1
    history = (await client.get("/v1/coupons/history", headers=user())).json()
    assert (history["total_redemptions"], history["total_value_micros"]) == (1, 2_500_000)
    assert history["data"][0]["coupon_code"] == "SPRING-25"
    listed = (await client.get("/v1/credits/transactions", headers=user())).json()["data"]
    assert [(t["type"], t["metadata"]["coupon_code"]) for t in listed] == [("coupon", "SPRING-25")]


async def test_scopes_and_windows(client: Client) -> None:
    now = datetime.now(UTC)
    await create(client, code="FORBOB", scope="user_specific", assigned_user_id="bob")
    await create(client, code="NEWBIE", scope="first_purchase", value_micros=1_000_000)
    await create(client, code="LATER", valid_from=(now + timedelta(days=1)).isoformat())
    await create(client, code="SOON", valid_until=(now + timedelta(seconds=2)).isoformat())
    available = (await client.get("/v1/coupons/available", headers=user("bob"))).json()["data"]
    assert {c["code"] for c in available} == {"FORBOB", "NEWBIE", "SOON"}
    assert_error(await redeem(client, "alice", "FORBOB"), 404, "coupon_not_found", "code")  # not hers to see
    assert (await redeem(client, "bob", "FORBOB")).status_code == 201
    assert_error(await redeem(client, "bob", "NEWBIE"), 422, "coupon_not_eligible", "code")  # had a coupon
    assert (await redeem(client, "carol", "NEWBIE")).status_code == 201
    assert_error(await redeem(client, "bob", "LATER"), 422, "coupon_not_yet_valid", "code")
    await asyncio.sleep(2.1)
    assert_error(await redeem(client, "bob", "SOON"), 422, "coupon_expired", "code")
    available = (await client.get("/v1/coupons/available", headers=user("bob"))).json()["data"]
    assert available == []


async def test_two_hundred_users_race_for_fifty_uses(client: Client, engine: AsyncEngine) -> None:
    coupon = await create(client, code="FIFTY", value_micros=1_000_000, max_uses=50)
    responses = await asyncio.gather(*(redeem(client, f"usr_{i}", "FIFTY") for i in range(200)))
    outcomes = Counter(r.status_code for r in responses)
    assert outcomes == {201: 50, 422: 150}, outcomes
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 422} == {"coupon_exhausted"}
    assert await scalar(engine, "SELECT count(*) FROM billing.transactions WHERE type = 'coupon'") == 50
    assert await scalar(engine, "SELECT count(*) FROM billing.coupon_redemptions") == 50
    assert await scalar(engine, "SELECT times_used FROM billing.coupons") == 50
    analytics = (await client.get(f"{COUPONS}/{coupon['id']}/analytics", headers=admin())).json()
    assert (analytics["total_redemptions"], analytics["remaining_uses"], analytics["redemption_rate"]) == (50, 0, 1.0)
    stats = (await client.get(f"{COUPONS}/stats", headers=admin())).json()
    assert (stats["total_redemptions"], stats["unique_redeemers"], stats["value_distributed_micros"]) == (
        50, 50, 50_000_000,
    )  # fmt: skip


async def test_one_user_twenty_times_at_once_redeems_once(client: Client, engine: AsyncEngine) -> None:
    await create(client, code="ONCE", value_micros=3_000_000)
    same_key = await asyncio.gather(*(redeem(client, "usr_1", "ONCE", key="k") for _ in range(20)))
    assert {r.status_code for r in same_key} == {201}
    assert len({r.json()["id"] for r in same_key}) == 1
    new_keys = await asyncio.gather(*(redeem(client, "usr_1", "ONCE", key=f"k{i}") for i in range(20)))
    assert Counter(r.status_code for r in new_keys) == {409: 20}
    assert await scalar(engine, "SELECT count(*) FROM billing.transactions WHERE type = 'coupon'") == 1
    assert await scalar(engine, "SELECT balance_micros FROM billing.accounts WHERE user_id = 'usr_1'") == 3_000_000


async def test_different_keys_race_for_one_first_redemption(client: Client, engine: AsyncEngine) -> None:
    await create(client, code="RACE", value_micros=1_000_000)
    raced = await asyncio.gather(*(redeem(client, "usr_9", "RACE", key=f"r{i}") for i in range(20)))
    assert Counter(r.status_code for r in raced) == {201: 1, 409: 19}
    assert await scalar(engine, "SELECT count(*) FROM billing.coupon_redemptions") == 1


async def test_admin_list_pages_and_filters(client: Client) -> None:
    for i in range(5):
        await create(client, code=f"PAGE{i}", scope="global" if i % 2 else "first_purchase")
    first = (await client.get(COUPONS, params={"limit": 2}, headers=admin())).json()
    assert [c["code"] for c in first["data"]] == ["PAGE4", "PAGE3"]
    assert first["has_more"]
    second = (await client.get(COUPONS, params={"limit": 2, "cursor": first["next_cursor"]}, headers=admin())).json()
    assert [c["code"] for c in second["data"]] == ["PAGE2", "PAGE1"]
    scoped = (await client.get(COUPONS, params={"scope": "global"}, headers=admin())).json()
    assert {c["code"] for c in scoped["data"]} == {"PAGE1", "PAGE3"}
    assert_error(await client.get(COUPONS, params={"scope": "x"}, headers=admin()), 400, "invalid_value", "scope")
    assert_error(await client.get(COUPONS, headers=user()), 403, "forbidden")


async def test_verify_checks_coupons(client: Client, services: BillingServices, engine: AsyncEngine) -> None:
    await create(client, code="CHECKED", max_uses=2)
    assert (await redeem(client, "usr_1", "CHECKED")).status_code == 201
    report = await handlers.verify_ledger(services.ledger, services.policy)
    assert report.passed, report.render()
    async with engine.begin() as conn:  # a use counted without a redemption
        await conn.exec_driver_sql("UPDATE billing.coupons SET times_used = 2")
    report = await handlers.verify_ledger(services.ledger, services.policy)
    assert [r.name for r in report.results if not r.passed] == ["coupon_uses_within_max"]
