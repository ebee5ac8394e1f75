"""The request monitor, models table, snapshot, tracking quality and tokens/s on real Postgres, through the app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from nats.aio.client import Client as NatsClient
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncEngine

from tollway.analytics import handlers
from tollway.analytics.api import tracking_metrics
from tollway.analytics.app import create_app
from tollway.analytics.db.monitoring import SqlAlchemyMonitorReader
from tollway.analytics.db.repositories import SqlAlchemyRequestLog
from tollway.analytics.settings import AnalyticsSettings
from tollway.platform.identity import Identity, Role, sign_identity
from tollway.platform.messaging import Namespace
from tollway.testing.infra import LocalInfra

SECRET = "analytics-monitor-secret"
Client = AsyncTestClient[Litestar]


def signed(role: Role = "admin") -> dict[str, str]:
    identity = Identity(request_id="req-test", role=role, user_id=None if role == "admin" else "u1")
    return sign_identity(identity, SECRET.encode())


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
    """This hour: 10 served by openai (u1/k1, latency 100..1000 ms), 2 by bedrock as fallback (u2/k2, streamed),
    1 anonymous, 1 with a user but no key, 1 failed; yesterday: 3 more on openai."""
    # Inside the current hour, whatever the clock says: read when the test runs, not when the module was imported
    # (a long run crossed an hour between the two, and the 1-hour window missed the rows).
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    done = [
        *(
            events.completed(i, occurred_at=now, latency_ms=100 * (i + 1), ttft_ms=None, completion_tokens=50)
            for i in range(10)
        ),
        *(
            events.completed(
                i,
                occurred_at=now,
                user_id="u2",
                api_key_id="k2",
                requested_model="claude",
                provider="bedrock",
                is_fallback=True,
                latency_ms=1_100,
                ttft_ms=100,
                completion_tokens=200,
                cost_micros=5_000,
                stream=True,
            )
            for i in (10, 11)
        ),
        events.completed(12, occurred_at=now, user_id=None, api_key_id=None, is_anonymous=True),
        events.completed(13, occurred_at=now, api_key_id=None),
        *(events.completed(i, occurred_at=now - timedelta(days=1)) for i in (14, 15, 16)),
    ]
    await handlers.record_completed_requests(done, log, "seed")
    await handlers.record_failed_requests([events.failed(1, occurred_at=now)], log, "seed")


async def get(client: Client, path: str, role: Role = "admin", **params: str) -> dict[str, Any]:
    response = await client.get(path, params=params, headers=signed(role))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_every_admin_route_needs_the_admin_role(client: Client) -> None:
    paths = [
        "/admin/v1/requests",
        "/admin/v1/requests/summary",
        "/admin/v1/requests/series",
        "/admin/v1/requests/by-provider",
        "/admin/v1/requests/by-model",
        "/admin/v1/models/usage",
        "/admin/v1/monitor",
        "/admin/v1/tracking/quality",
        "/admin/v1/tracking/trend",
    ]
    for path in paths:
        assert (await client.get(path)).status_code == 401, path
        answer = await client.get(path, headers=signed("user"))
        assert answer.status_code == 403, path
        assert answer.json()["error"]["type"] == "permission_error"


async def test_request_listing_filters_and_pages_with_a_cursor(client: Client) -> None:
    everyone = await get(client, "/admin/v1/requests", limit="100")
    assert len(everyone["data"]) == 18
    assert {row["user_id"] for row in everyone["data"]} == {"u1", "u2", None}
    failed = await get(client, "/admin/v1/requests", status="failed")
    assert [row["request_id"] for row in failed["data"]] == ["fail-000001"]
    fallback = await get(client, "/admin/v1/requests", is_fallback="true", provider="bedrock", user_id="u2")
    assert {row["request_id"] for row in fallback["data"]} == {"req-000010", "req-000011"}
    seen, cursor = [], None
    while True:
        page = await get(
            client, "/admin/v1/requests", limit="4", api_key_id="k1", **({"cursor": cursor} if cursor else {})
        )
        seen += [row["request_id"] for row in page["data"]]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    assert len(seen) == len(set(seen)) == 14  # 10 + 3 yesterday + the failure, all on k1
    bad = await client.get("/admin/v1/requests", params={"status": "lost"}, headers=signed())
    assert bad.status_code == 422
    assert bad.json()["error"]["param"] == "status"


async def test_summary_has_tokens_cost_and_latency_percentiles(client: Client) -> None:
    body = await get(client, "/admin/v1/requests/summary", model="gpt", provider="openai")
    # 10 now + 3 yesterday + the anonymous one + 1 without a key; the failure has no provider.
    assert body["requests"] == 15
    assert body["failures"] == 0
    assert body["success_rate"] == 100.0
    assert body["cost_micros"] == sum(1_000 + i for i in (*range(10), 12, 13, 14, 15, 16))
    assert body["p50_latency_ms"] is not None
    assert 100 <= body["p50_latency_ms"] <= 600
    assert body["p95_latency_ms"] >= 900
    # Latency buckets are per hour, model and provider: a user's own percentiles are not known.
    own = await get(client, "/admin/v1/requests/summary", user_id="u1")
    assert (own["requests"], own["p50_latency_ms"], own["avg_latency_ms"] is not None) == (15, None, True)
    everyone = await get(client, "/admin/v1/requests/summary")
    assert (everyone["requests"], everyone["failures"]) == (18, 1)
    assert (everyone["users"], everyone["api_keys"], everyone["providers"]) == (2, 2, 2)


async def test_series_fills_quiet_hours_and_sums_to_the_summary(client: Client) -> None:
    body = await get(client, "/admin/v1/requests/series", bucket="hour")
    assert len(body["data"]) == 7 * 24  # the default 7 days, every hour
    assert sum(point["requests"] for point in body["data"]) == 18
    assert sum(point["failures"] for point in body["data"]) == 1
    busiest = max(body["data"], key=lambda point: point["requests"])
    assert busiest["p95_latency_ms"] is not None
    days = await get(client, "/admin/v1/requests/series", bucket="day")
    assert len(days["data"]) == 7
    assert [p["requests"] for p in days["data"][-2:]] == [3, 15]


async def test_breakdowns_by_provider_and_model(client: Client) -> None:
    providers = await get(client, "/admin/v1/requests/by-provider")
    by_name = {row["provider"]: row for row in providers["data"]}
    assert by_name["openai"]["requests"] == 15  # 10 + 3 + anonymous + keyless
    assert by_name["bedrock"]["requests"] == 2
    assert by_name[None]["failures"] == 1  # no provider served the failed request
    assert providers["data"][0]["provider"] == "openai"  # busiest first
    models = await get(client, "/admin/v1/requests/by-model", provider="bedrock")
    assert [(row["model"], row["requests"], row["providers"]) for row in models["data"]] == [("claude", 2, 1)]


async def test_models_usage_searches_sorts_and_pages(client: Client) -> None:
    body = await get(client, "/admin/v1/models/usage", sort_by="requests", order="desc", limit="1")
    assert [row["model"] for row in body["data"]] == ["gpt"]
    assert body["pagination"] == {
        "page": 1,
        "limit": 1,
        "total_items": 2,
        "total_pages": 2,
        "has_next": True,
        "has_prev": False,
    }
    second = await get(client, "/admin/v1/models/usage", sort_by="requests", order="desc", limit="1", page="2")
    assert [row["model"] for row in second["data"]] == ["claude"]
    searched = await get(client, "/admin/v1/models/usage", q="CLAU")
    assert [row["model"] for row in searched["data"]] == ["claude"]
    bad = await client.get("/admin/v1/models/usage", params={"sort_by": "nonsense"}, headers=signed())
    assert (bad.status_code, bad.json()["error"]["param"]) == (422, "sort_by")
    too_big = await client.get("/admin/v1/models/usage", params={"limit": "501"}, headers=signed())
    assert too_big.status_code == 422


async def test_monitor_snapshot_today_and_thirty_days(client: Client) -> None:
    body = await get(client, "/admin/v1/monitor")
    month = body["last_30_days"]
    assert (month["requests"], month["failures"], month["anonymous_requests"]) == (18, 1, 1)
    assert (month["active_users"], month["active_api_keys"]) == (2, 2)
    assert body["today"]["requests"] == 15


async def test_tracking_quality_separates_anonymous_from_missing_keys(client: Client) -> None:
    body = await get(client, "/admin/v1/tracking/quality", hours="24")
    # Yesterday's 3 are 24 h old, just outside; of the 15 left, 1 is anonymous and 1 has a user but no key.
    total = body["total_requests"]
    assert total == 15
    assert body["anonymous_requests"] == 1
    assert body["failures_by_reason"] == {"user_without_key": 1, "unattributed": 0}
    assert body["requests_with_api_key"] == total - 2
    assert body["tracking_rate_percent"] == round((total - 2) * 100 / (total - 1), 2)
    assert body["alert_status"] == "ok"
    assert any("user but no API key" in advice for advice in body["recommendations"])
    hour = await get(client, "/admin/v1/tracking/quality", hours="1")
    assert hour["total_requests"] == 15
    bad = await client.get("/admin/v1/tracking/quality", params={"hours": "169"}, headers=signed())
    assert (bad.status_code, bad.json()["error"]["param"]) == (422, "hours")


async def test_tracking_trend_has_every_day(client: Client) -> None:
    body = await get(client, "/admin/v1/tracking/trend", days="3")
    today = datetime.now(UTC).date()
    assert [day["date"] for day in body["data"]] == [str(today - timedelta(days=n)) for n in (2, 1, 0)]
    assert body["summary"]["total_requests"] == 18
    assert body["data"][0]["total_requests"] == 0


async def test_tracking_gauges_are_exported(client: Client, engine: AsyncEngine) -> None:
    await tracking_metrics.refresh(SqlAlchemyMonitorReader(engine))
    assert REGISTRY.get_sample_value("tollway_api_key_tracking_failures", {"reason": "user_without_key"}) == 1
    assert REGISTRY.get_sample_value("tollway_api_key_tracking_requests", {"kind": "anonymous"}) == 1
    metrics = (await client.get("/metrics")).text
    assert "tollway_api_key_tracking_rate" in metrics


async def test_tokens_per_second_as_json_and_prometheus_text(client: Client) -> None:
    body = await get(client, "/v1/metrics/tokens-per-second", role="user", window="24h")
    by_pair = {(row["model"], row["provider"]): row for row in body["data"]}
    # bedrock: 2 x 200 tokens over 2 x (1100 - 100) ms.
    assert by_pair["claude", "bedrock"]["tokens_per_second"] == 200.0
    assert body["data"][0]["model"] == "claude"  # fastest first
    only = await get(client, "/v1/metrics/tokens-per-second", role="user", model="gpt")
    assert {row["model"] for row in only["data"]} == {"gpt"}
    text = await client.get(
        "/v1/metrics/tokens-per-second", params={"window": "1h"}, headers={**signed("user"), "accept": "text/plain"}
    )
    assert text.status_code == 200
    assert text.headers["content-type"].startswith("text/plain")
    assert 'tollway_tokens_per_second{model="claude",provider="bedrock",window="1h"} 200.0' in text.text
    bad = await client.get("/v1/metrics/tokens-per-second", params={"window": "forever"}, headers=signed("user"))
    assert (bad.status_code, bad.json()["error"]["param"]) == (422, "window")
    assert (await client.get("/v1/metrics/tokens-per-second")).status_code == 401
