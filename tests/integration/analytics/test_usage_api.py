"""The usage API through signed identity headers: filters, groups, pages, and every error in OpenAI's shape."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from nats.aio.client import Client as NatsClient

from tollway.analytics import handlers
from tollway.analytics.app import create_app
from tollway.analytics.db.repositories import SqlAlchemyRequestLog
from tollway.analytics.settings import AnalyticsSettings
from tollway.platform.identity import Identity, Role, sign_identity
from tollway.platform.messaging import Namespace
from tollway.testing.infra import LocalInfra

SECRET = "analytics-test-secret"
TODAY = datetime.now(UTC).date()
Client = AsyncTestClient[Litestar]


def at(day: date, minute: int) -> datetime:
    return datetime.combine(day, time(0, 30), UTC) + timedelta(minutes=minute)


def signed(user_id: str | None = "u1", role: Role = "user", secret: str = SECRET) -> dict[str, str]:
    identity = Identity(request_id="req-test", role=role, user_id=user_id, api_key_id="k1")
    return sign_identity(identity, secret.encode())


@pytest.fixture
async def client(
    database_url: str,
    request_log: SqlAlchemyRequestLog,
    events: Any,
    test_infra: LocalInfra,
    namespace: Namespace,
    nc: NatsClient,  # deletes the namespace's streams the app provisions
) -> AsyncIterator[Client]:
    await seed(request_log, events)
    settings = AnalyticsSettings(
        database_url=database_url, nats_url=test_infra.nats_url, namespace=namespace.prefix, internal_secret=SECRET
    )
    async with AsyncTestClient(create_app(settings)) as started:
        yield started


async def seed(log: SqlAlchemyRequestLog, events: Any) -> None:
    two_days_ago, ten_days_ago = TODAY - timedelta(days=2), TODAY - timedelta(days=10)
    done = [
        *(events.completed(i, occurred_at=at(TODAY, i), cost_micros=1_000_000 + i) for i in range(3)),
        events.completed(3, occurred_at=at(TODAY, 90), requested_model="claude", provider="bedrock", is_fallback=True),
        *(events.completed(i, occurred_at=at(two_days_ago, i), api_key_id="k2") for i in (4, 5)),
        events.completed(6, occurred_at=at(ten_days_ago, 0)),
        *(events.completed(i, occurred_at=at(TODAY, i), user_id="u2", api_key_id="k9") for i in (7, 8)),
        events.completed(9, occurred_at=at(TODAY, 5), user_id=None, api_key_id=None, is_anonymous=True),
    ]
    await handlers.record_completed_requests(done, log, "seed")
    await handlers.record_failed_requests([events.failed(1, occurred_at=at(TODAY, 30))], log, "seed")


async def usage(client: Client, path: str = "/v1/usage", **params: str) -> dict[str, Any]:
    response = await client.get(path, params=params, headers=signed(role="admin" if "admin" in path else "user"))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_own_totals_over_the_default_seven_days(client: Client) -> None:
    body = await usage(client)
    assert (body["from"], body["to"]) == (str(TODAY - timedelta(days=6)), str(TODAY))
    totals = body["totals"]
    # u1: 3 + 1 today, 2 two days ago, 1 failure; not u2's, not the anonymous one, not 10 days ago.
    assert (totals["requests"], totals["failures"]) == (7, 1)
    assert totals["cost_micros"] == 3_000_003 + 1_003 + 1_004 + 1_005
    assert totals["cost_usd"] == "3.003015"
    assert totals["total_tokens"] == totals["prompt_tokens"] + totals["completion_tokens"]
    assert body["groups"] == []


FILTERED = [
    ({"provider": "bedrock"}, 1),
    ({"model": "gpt"}, 6),
    ({"is_fallback": "true"}, 1),
    ({"is_fallback": "false"}, 6),
    ({"api_key_id": "k2"}, 2),
    ({"from": str(TODAY - timedelta(days=10)), "to": str(TODAY - timedelta(days=2))}, 3),
    ({"from": str(TODAY - timedelta(days=92))}, 8),
    ({"provider": "openai", "model": "gpt", "api_key_id": "k1"}, 3),
]


async def test_filters(client: Client) -> None:
    # One seeded client for every case: the cases only read.
    found = [(params, (await usage(client, **params))["totals"]["requests"]) for params, _ in FILTERED]
    assert found == FILTERED


async def test_group_by_day_and_hour_oldest_first(client: Client) -> None:
    days = (await usage(client, group_by="day"))["groups"]
    assert [(g["key"], g["requests"]) for g in days] == [(str(TODAY - timedelta(days=2)), 2), (str(TODAY), 5)]
    hours = (await usage(client, group_by="hour"))["groups"]
    assert [g["key"] for g in hours] == [
        f"{TODAY - timedelta(days=2)}T00:00:00Z",
        f"{TODAY}T00:00:00Z",
        f"{TODAY}T01:00:00Z",
        f"{TODAY}T02:00:00Z",
    ]


async def test_group_by_model_and_provider_costliest_first_with_totals_equal_to_their_sum(client: Client) -> None:
    body = await usage(client, group_by="model")
    assert [(g["key"], g["requests"]) for g in body["groups"]] == [("gpt", 6), ("claude", 1)]
    assert body["totals"]["cost_micros"] == sum(g["cost_micros"] for g in body["groups"])
    providers = (await usage(client, group_by="provider"))["groups"]
    # The failed request was served by no provider: its group has no key.
    assert [(g["key"], g["requests"], g["failures"]) for g in providers] == [
        ("openai", 5, 0),
        ("bedrock", 1, 0),
        (None, 1, 1),
    ]


async def test_admin_sees_every_user_or_one(client: Client) -> None:
    everyone = await usage(client, "/admin/v1/usage")
    assert everyone["totals"]["requests"] == 10  # u1's 7, u2's 2, one anonymous
    assert (await usage(client, "/admin/v1/usage", user_id="u2"))["totals"]["requests"] == 2
    by_model = await usage(client, "/admin/v1/usage", group_by="model", user_id="u1")
    assert [g["key"] for g in by_model["groups"]] == ["gpt", "claude"]


async def test_requests_are_paged_newest_first_by_cursor(client: Client) -> None:
    seen: list[dict[str, Any]] = []
    params = {"limit": "2"}
    while True:
        page = await usage(client, "/v1/usage/requests", **params)
        seen += page["data"]
        assert page["has_more"] == (page["next_cursor"] is not None)
        if not page["has_more"]:
            break
        params["cursor"] = page["next_cursor"]
    ids = [row["request_id"] for row in seen]
    assert len(ids) == len(set(ids)) == 7
    assert [row["occurred_at"] for row in seen] == sorted((row["occurred_at"] for row in seen), reverse=True)
    failed = next(row for row in seen if row["status"] == "failed")
    assert (failed["cost_micros"], failed["cost_usd"], failed["failed_attempts"][0]["error_class"]) == (
        0,
        "0.000000",
        "timeout",
    )
    assert "user_id" not in seen[0]


async def test_requests_take_the_same_filters(client: Client) -> None:
    page = await usage(client, "/v1/usage/requests", provider="bedrock")
    assert [row["request_id"] for row in page["data"]] == ["req-000003"]
    assert (page["has_more"], page["next_cursor"]) == (False, None)


BAD_PARAMETERS = [
    ("/v1/usage", {"from": str(TODAY - timedelta(days=93))}, "to"),
    ("/v1/usage", {"from": "2026-03-02", "to": "2026-03-01"}, "from"),
    ("/v1/usage", {"from": "March 1st"}, "from"),
    ("/v1/usage", {"group_by": "week"}, "group_by"),
    ("/v1/usage", {"is_fallback": "perhaps"}, "is_fallback"),
    ("/v1/usage/requests", {"limit": "101"}, "limit"),
    ("/v1/usage/requests", {"cursor": "not-a-cursor"}, "cursor"),
    ("/admin/v1/usage", {"to": "2026-13-01"}, "to"),
]


async def test_bad_parameters_are_422_naming_the_parameter(client: Client) -> None:
    for path, params, param in BAD_PARAMETERS:
        response = await client.get(path, params=params, headers=signed(role="admin" if "admin" in path else "user"))
        assert response.status_code == 422, (path, params, response.text)
        error = response.json()["error"]
        assert (error["type"], error["param"], error["code"]) == ("invalid_request_error", param, "invalid_parameter")
        assert "Traceback" not in response.text


async def test_unsigned_or_forged_calls_are_401_even_with_bad_parameters(client: Client) -> None:
    for path in ("/v1/usage", "/v1/usage/requests", "/admin/v1/usage"):
        for headers in ({}, signed(role="admin", secret="not-the-secret")):
            response = await client.get(path, params={"group_by": "week"}, headers=headers)
            assert response.status_code == 401, (path, headers, response.text)
            error = response.json()["error"]
            assert (set(error), error["type"]) == ({"message", "type", "param", "code"}, "authentication_error")


async def test_users_are_403_on_the_admin_route_and_callers_without_a_user_on_their_own(client: Client) -> None:
    response = await client.get("/admin/v1/usage", headers=signed())
    assert response.status_code == 403
    assert response.json()["error"]["type"] == "permission_error"
    response = await client.get("/v1/usage", headers=signed(user_id=None, role="anonymous"))
    assert response.status_code == 403
