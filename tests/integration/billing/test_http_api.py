"""The HTTP API through a real app: identities signed like the gateway's, OpenAI-shaped errors, idempotency."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from nats.aio.client import Client as NatsClient
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.billing.conftest import SECRET, completed, kv_value, scalar
from tollway.billing import handlers
from tollway.billing.app import create_app
from tollway.billing.bootstrap import BillingServices
from tollway.billing.settings import BillingSettings
from tollway.platform.identity import Identity, sign_identity
from tollway.platform.messaging import Namespace

Client = AsyncTestClient[Litestar]
GRANTS = "/admin/v1/accounts/usr_1/grants"
TXNS = "SELECT count(*) FROM billing.transactions"


def user(user_id: str = "usr_1", **fields: Any) -> dict[str, str]:
    return sign_identity(Identity(request_id="req_t", user_id=user_id, **fields), SECRET.encode())


def admin(key: str | None = None) -> dict[str, str]:
    headers = sign_identity(Identity(request_id="req_a", role="admin", user_id="usr_ops"), SECRET.encode())
    return headers if key is None else {**headers, "Idempotency-Key": key}


@pytest.fixture
async def client(settings: BillingSettings, nc: NatsClient) -> AsyncIterator[Client]:
    tight = BillingSettings(
        **{**_fields(settings), "max_grant_micros": 50_000_000, "admin_daily_limit_micros": 80_000_000}
    )
    async with AsyncTestClient(create_app(tight)) as test_client:
        yield test_client


def _fields(settings: BillingSettings) -> dict[str, Any]:
    return {name: getattr(settings, name) for name in settings.__struct_fields__}


def assert_error(response: Any, status: int, code: str, param: str | None = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert (body["error"]["code"], body["error"]["param"]) == (code, param)
    assert "Traceback" not in response.text


async def test_balance_of_an_unknown_user_is_zero_and_grants_show_up(client: Client) -> None:
    response = await client.get("/v1/credits/balance", headers=user())
    assert response.status_code == 200
    assert response.json() == {
        "user_id": "usr_1",
        "account_id": None,
        "balance_micros": 0,
        "balance_usd": "0.000000",
        "currency": "USD",
        "trial_expires_at": None,
        "object": "credit_balance",
    }
    granted = await client.post(
        GRANTS, json={"amount_micros": 2_500_000, "description": "welcome"}, headers=admin("k1")
    )
    assert granted.status_code == 201, granted.text
    body = (await client.get("/v1/credits/balance", headers=user())).json()
    assert (body["balance_micros"], body["balance_usd"]) == (2_500_000, "2.500000")
    assert body["account_id"].startswith("acc_")


async def test_credit_routes_need_a_signed_user_identity(client: Client) -> None:
    assert_error(await client.get("/v1/credits/balance"), 401, "unauthorized")
    forged = {**user(), "x-tollway-signature": "0" * 64}
    assert_error(await client.get("/v1/credits/balance", headers=forged), 401, "unauthorized")
    anonymous = user(None, role="anonymous", is_anonymous=True)  # type: ignore[arg-type]
    assert_error(await client.get("/v1/credits/transactions", headers=anonymous), 403, "forbidden")
    assert_error(await client.post(GRANTS, json={"amount_micros": 1}, headers=user()), 403, "forbidden")


async def test_twenty_concurrent_identical_grants_make_one_transaction(client: Client, engine: AsyncEngine) -> None:
    body = {"amount_micros": 1_000_000, "description": "sorry for the outage"}
    responses = await asyncio.gather(*(client.post(GRANTS, json=body, headers=admin("same-key")) for _ in range(20)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.text for r in responses}) == 1  # the same response, byte for byte
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in responses) == 19
    assert await scalar(engine, TXNS) == 1
    assert await scalar(engine, "SELECT balance_micros FROM billing.accounts") == 1_000_000


async def test_idempotency_key_rules(client: Client, engine: AsyncEngine) -> None:
    body = {"amount_micros": 1_000}
    assert (await client.post(GRANTS, json=body, headers=admin("k"))).status_code == 201
    assert_error(
        await client.post(GRANTS, json={"amount_micros": 1_001}, headers=admin("k")),
        409,
        "idempotency_key_reused",
        "Idempotency-Key",
    )
    other_user = "/admin/v1/accounts/usr_2/grants"
    assert_error(
        await client.post(other_user, json=body, headers=admin("k")), 409, "idempotency_key_reused", "Idempotency-Key"
    )
    assert_error(
        await client.post(GRANTS, json=body, headers=admin()), 400, "idempotency_key_required", "Idempotency-Key"
    )
    assert await scalar(engine, TXNS) == 1


async def test_caps_and_the_daily_limit_refuse_with_422(client: Client, engine: AsyncEngine) -> None:
    too_big = await client.post(GRANTS, json={"amount_micros": 50_000_001}, headers=admin("a"))
    assert_error(too_big, 422, "limit_exceeded", "amount_micros")
    assert "$50.00" in too_big.json()["error"]["message"]
    assert (await client.post(GRANTS, json={"amount_micros": 50_000_000}, headers=admin("b"))).status_code == 201
    over = await client.post(GRANTS, json={"amount_micros": 40_000_000}, headers=admin("c"))
    assert_error(over, 422, "limit_exceeded", "amount_micros")
    assert "daily limit" in over.json()["error"]["message"]
    assert (await client.post(GRANTS, json={"amount_micros": 30_000_000}, headers=admin("c"))).status_code == 201
    assert await scalar(engine, TXNS) == 2


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"amount_micros": 0}, "amount_micros"),
        ({"amount_micros": 1.5}, "amount_micros"),
        ({"amount_micros": 5, "balance_micros": 10**9}, None),  # mass assignment is rejected
    ],
)
async def test_malformed_grants_are_400(client: Client, body: dict[str, Any], param: str | None) -> None:
    response = await client.post(GRANTS, json=body, headers=admin("m"))
    assert response.status_code == 400, response.text
    assert response.json()["error"]["type"] == "invalid_request_error"
    if param:
        assert param in response.text


async def test_adjustments_need_a_reason_and_respect_the_overspend_bound(client: Client) -> None:
    adjustments = "/admin/v1/accounts/usr_1/adjustments"
    assert (await client.post(adjustments, json={"amount_micros": -5}, headers=admin("x"))).status_code == 400
    down = await client.post(
        adjustments, json={"amount_micros": -1_000_000, "description": "chargeback"}, headers=admin("y")
    )
    assert down.status_code == 201, down.text
    assert (down.json()["type"], down.json()["balance_after_micros"]) == ("adjustment", -1_000_000)
    below = await client.post(adjustments, json={"amount_micros": -1, "description": "more"}, headers=admin("z"))
    assert_error(below, 422, "limit_exceeded", "amount_micros")


async def test_refund_a_usage_transaction_once(
    client: Client, services: BillingServices, nc: NatsClient, namespace: Namespace
) -> None:
    await handlers.settle_usage(
        [completed("r1", 4_000)],
        services.ledger,
        services.balances,
        consumer="t",
        policy=services.policy,
        clock=services.clock,
    )
    usage = (await client.get("/v1/credits/transactions", headers=user())).json()["data"][0]
    refund_path = f"/admin/v1/transactions/{usage['id']}/refund"
    refunded = await client.post(refund_path, json={"reason": "bad answer"}, headers=admin())
    assert refunded.status_code == 201, refunded.text
    assert (refunded.json()["amount_micros"], refunded.json()["balance_after_micros"]) == (4_000, 0)
    assert_error(await client.post(refund_path, headers=admin()), 409, "already_refunded", "transaction_id")
    assert_error(
        await client.post("/admin/v1/transactions/txn_nope/refund", headers=admin()), 404, "not_found", "transaction_id"
    )
    refund_id = refunded.json()["id"]
    assert_error(
        await client.post(f"/admin/v1/transactions/{refund_id}/refund", headers=admin()),
        422,
        "not_refundable",
        "transaction_id",
    )
    assert (await kv_value(nc, namespace, "usr_1")).balance_micros == 0


async def test_transactions_are_paged_with_an_opaque_cursor_and_filters(
    client: Client, services: BillingServices
) -> None:
    for i in range(7):
        await handlers.settle_usage(
            [completed(f"r{i}", 10 + i)],
            services.ledger,
            services.balances,
            consumer="t",
            policy=services.policy,
            clock=services.clock,
        )
    await client.post(GRANTS, json={"amount_micros": 100}, headers=admin("g"))
    seen, cursor = [], None
    while True:
        params: dict[str, Any] = {"limit": 3, "type": "usage", **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/credits/transactions", params=params, headers=user())).json()
        seen += [t["metadata"]["request_id"] for t in page["data"]]
        assert "admin" not in str(page)  # operators' details are not shown to users
        if not page["has_more"]:
            break
        cursor = page["next_cursor"]
    assert seen == [f"r{i}" for i in reversed(range(7))]
    everything = (await client.get("/v1/credits/transactions", headers=user())).json()
    assert next(t["type"] for t in everything["data"]) == "grant"
    future = (
        await client.get("/v1/credits/transactions", params={"from": "2999-01-01T00:00:00Z"}, headers=user())
    ).json()
    assert future["data"] == []
    mine_only = (await client.get("/v1/credits/transactions", headers=user("usr_other"))).json()
    assert mine_only["data"] == []


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"limit": 101}, "limit"),
        ({"limit": 0}, "limit"),
        ({"type": "bonus"}, "type"),
        ({"cursor": "garbage!"}, "cursor"),
    ],
)
async def test_bad_list_parameters_are_400(client: Client, params: dict[str, Any], param: str) -> None:
    assert_error(
        await client.get("/v1/credits/transactions", params=params, headers=user()), 400, "invalid_value", param
    )
