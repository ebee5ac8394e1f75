"""Billing's audit trail over HTTP on Postgres: operators' postings and coupons, filters, cursor pages, bad queries."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from nats.aio.client import Client as NatsClient
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.billing.conftest import SECRET, scalar
from tests.integration.billing.test_coupons import admin, user
from tests.integration.billing.test_http_api import assert_error
from tests.integration.billing.test_reports import usage
from tollway.billing.app import create_app
from tollway.billing.bootstrap import BillingServices
from tollway.billing.settings import BillingSettings
from tollway.platform.identity import Identity, sign_identity

Client = AsyncTestClient[Litestar]
AUDIT = "/admin/v1/billing/audit"
OTHER = "admin-key:second"  # a second operator, as the gateway names an admin key


@pytest.fixture
async def client(settings: BillingSettings, nc: NatsClient) -> AsyncIterator[Client]:
    async with AsyncTestClient(create_app(settings)) as test_client:
        yield test_client


def operator(actor: str, key: str) -> dict[str, str]:
    headers = sign_identity(Identity(request_id="req_o", role="admin", user_id=actor), SECRET.encode())
    return {**headers, "Idempotency-Key": key}


async def post(client: Client, path: str, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    answer = await client.post(path, json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    made: dict[str, Any] = answer.json()
    return made


async def operators_at_work(client: Client, services: BillingServices, engine: AsyncEngine) -> dict[str, str]:
    """One of each action, by two operators, among postings no operator made (usage, trial); their ids."""
    grant = await post(client, "/admin/v1/accounts/usr_a/grants", {"amount_micros": 5_000_000}, admin("g1"))
    await usage(services, "req_1", 400_000, datetime.now(UTC), user_id="usr_a")
    charge = await scalar(engine, "SELECT id FROM billing.transactions WHERE type = 'usage'")
    refund = await post(client, f"/admin/v1/transactions/{charge}/refund", {"reason": "bad answer"}, admin("r1"))
    body = {"amount_micros": -1_000_000, "description": "duplicate grant"}
    adjustment = await post(client, "/admin/v1/accounts/usr_a/adjustments", body, operator(OTHER, "a1"))
    body = {"user_ids": ["usr_a", "usr_b"], "amount_micros": 2_000_000, "description": "outage"}
    bulk = await post(client, "/admin/v1/grants/bulk", body, operator(OTHER, "b1"))
    coupon = await post(client, "/admin/v1/coupons", {"code": "audit10", "value_micros": 10_000_000}, admin("c1"))
    bulk_ids = {r["user_id"]: r["transaction_id"] for r in bulk["results"]}
    return {
        "grant": grant["id"], "refund": refund["id"], "adjustment": adjustment["id"],
        "bulk_a": bulk_ids["usr_a"], "bulk_b": bulk_ids["usr_b"], "coupon": coupon["id"],
    }  # fmt: skip


async def listed(client: Client, **query: Any) -> dict[str, Any]:
    answer = await client.get(AUDIT, params=query, headers=admin())
    assert answer.status_code == 200, answer.text
    page: dict[str, Any] = answer.json()
    return page


async def test_no_operator_action_yet_is_an_empty_page(client: Client, services: BillingServices) -> None:
    await usage(services, "req_0", 1_000, datetime.now(UTC))  # usage is no operator's doing
    assert await listed(client) == {"data": [], "has_more": False, "next_cursor": None, "object": "list"}


async def test_every_operator_action_is_listed_newest_first_with_who_did_it(
    client: Client, services: BillingServices, engine: AsyncEngine
) -> None:
    ids = await operators_at_work(client, services, engine)
    entries = (await listed(client))["data"]
    assert [(e["action"], e["id"]) for e in entries] == [
        ("coupon_created", ids["coupon"]),
        *sorted([("bulk_grant", ids["bulk_a"]), ("bulk_grant", ids["bulk_b"])], reverse=True),
        ("adjustment", ids["adjustment"]),
        ("refund", ids["refund"]),
        ("grant", ids["grant"]),
    ]
    by_id = {e["id"]: e for e in entries}
    assert by_id[ids["grant"]] | {"at": None} == {
        "id": ids["grant"], "at": None, "action": "grant", "actor": "usr_ops", "user_id": "usr_a",
        "amount_micros": 5_000_000, "amount_usd": "5.000000", "description": "",
        "detail": {"idempotency_key": "g1"}, "object": "billing_audit_entry",
    }  # fmt: skip
    assert (by_id[ids["adjustment"]]["actor"], by_id[ids["adjustment"]]["amount_micros"]) == (OTHER, -1_000_000)
    assert by_id[ids["refund"]]["detail"]["refunded_transaction_id"].startswith("txn_")
    assert by_id[ids["coupon"]]["detail"] == {"code": "AUDIT10", "scope": "global", "max_uses": None}


async def test_filters_narrow_by_user_actor_action_and_time(
    client: Client, services: BillingServices, engine: AsyncEngine
) -> None:
    ids = await operators_at_work(client, services, engine)

    async def found(**query: Any) -> list[str]:
        return [e["id"] for e in (await listed(client, **query))["data"]]

    assert await found(user_id="usr_b") == [ids["bulk_b"]]
    assert set(await found(actor=OTHER)) == {ids["adjustment"], ids["bulk_a"], ids["bulk_b"]}
    assert await found(action="grant") == [ids["grant"]]  # a bulk grant is its own action
    assert set(await found(action="bulk_grant", actor=OTHER)) == {ids["bulk_a"], ids["bulk_b"]}
    assert await found(action="coupon_created") == [ids["coupon"]]
    assert await found(action="refund", user_id="usr_a") == [ids["refund"]]
    now = datetime.now(UTC)
    assert await found(**{"from": (now + timedelta(minutes=1)).isoformat()}) == []
    assert len(await found(**{"to": (now + timedelta(minutes=1)).isoformat()})) == 6
    assert await found(actor="admin-key:nobody") == []


async def test_cursor_pages_walk_the_whole_trail_once(
    client: Client, services: BillingServices, engine: AsyncEngine
) -> None:
    await operators_at_work(client, services, engine)
    everything = [e["id"] for e in (await listed(client))["data"]]
    walked: list[str] = []
    page = await listed(client, limit=4)
    while True:
        walked += [e["id"] for e in page["data"]]
        if not page["has_more"]:
            break
        page = await listed(client, limit=4, cursor=page["next_cursor"])
    assert walked == everything
    assert len(walked) == 6


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "201"}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"action": "delete_everything"}, "action"),
        ({"from": "2026-11-01T00:00:00"}, "from"),  # no timezone: ambiguous
        ({"from": "yesterday"}, "from"),
        ({"from": "2026-11-02T00:00:00Z", "to": "2026-11-01T00:00:00Z"}, "from"),
        ({"cursor": "not-one-we-gave"}, "cursor"),
        ({"actr": "usr_ops"}, "actr"),  # a misspelt filter would widen the read: refused
    ],
)
async def test_bad_queries_are_400s_naming_the_parameter(client: Client, query: dict[str, str], param: str) -> None:
    answer = await client.get(AUDIT, params=query, headers=admin())
    assert_error(answer, 400, "invalid_value", param)


async def test_only_operators_read_the_trail(client: Client) -> None:
    answer = await client.get(AUDIT, headers=user("usr_a"))
    assert_error(answer, 403, "forbidden")
    unsigned = await client.get(AUDIT)
    assert unsigned.status_code == 401
