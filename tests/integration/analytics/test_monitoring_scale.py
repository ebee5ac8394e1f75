"""With 1,000,000 request rows (and their rollups), every monitoring route answers in under 200 ms."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from nats.aio.client import Client as NatsClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tollway.analytics.app import create_app
from tollway.analytics.domain.latency import BOUNDS_MS
from tollway.analytics.settings import AnalyticsSettings
from tollway.platform.identity import Identity, sign_identity
from tollway.platform.messaging import Namespace
from tollway.testing.infra import LocalInfra

SECRET = "analytics-scale-secret"
ROWS = 1_000_000
BUDGET_S = 0.2


def budget_s() -> float:
    """200 ms on an otherwise idle machine; a shared one gets more with the load beyond its cores (each query gets
    about cores / load of the CPU it would have alone)."""
    return BUDGET_S * max(1.0, os.getloadavg()[0] / (os.cpu_count() or 1))


ADMIN = sign_identity(Identity(request_id="req-test", role="admin"), SECRET.encode())
USER = sign_identity(Identity(request_id="req-test", role="user", user_id="u1"), SECRET.encode())

# A week of traffic from 50 users on 5 models and 3 providers; 2 % failed, some keyless, some anonymous.
REQUESTS = f"""
INSERT INTO analytics.requests (
    request_id, occurred_at, status, user_id, account_id, api_key_id, is_anonymous, requested_model, provider,
    upstream_model, is_fallback, attempts, prompt_tokens, completion_tokens, cache_read_tokens, cache_write_tokens,
    reasoning_tokens, usage_estimated, cost_micros, latency_ms, ttft_ms, api, stream, error_class, status_code)
SELECT 'req-' || i, now() - make_interval(secs => i % 604800),
       CASE WHEN i % 50 = 0 THEN 'failed' ELSE 'ok' END,
       CASE WHEN i % 250 = 0 THEN NULL ELSE 'u' || (i % 50) END, NULL,
       CASE WHEN i % 100 = 0 THEN NULL ELSE 'k' || (i % 50) END, i % 250 = 0,
       'model-' || (i % 5),
       CASE WHEN i % 50 = 0 THEN NULL ELSE (ARRAY['openai', 'anthropic', 'bedrock'])[i % 3 + 1] END,
       'up', i % 7 = 0, 1, 100 + i % 500, CASE WHEN i % 50 = 0 THEN 0 ELSE 10 + i % 300 END, 0, 0, 0, false,
       CASE WHEN i % 50 = 0 THEN 0 ELSE 100 + i % 1000 END, 50 + i % 2000, 20 + i % 100, 'openai', i % 2 = 0,
       NULL, NULL
FROM generate_series(1, {ROWS}) AS i
"""  # noqa: S608 - constants
KEY = "user_id, hour, api_key_id, model, provider, is_fallback"
ROW_KEY = (
    "coalesce(user_id, '') AS user_id, date_trunc('hour', occurred_at, 'UTC') AS hour, "
    "coalesce(api_key_id, '') AS api_key_id, requested_model AS model, coalesce(provider, '') AS provider, is_fallback"
)
GENERATION = "greatest(latency_ms - coalesce(ttft_ms, 0), 0)"
GENERATING = f"status <> 'failed' AND completion_tokens > 0 AND {GENERATION} > 0"
ROLLUPS = f"""
INSERT INTO analytics.hourly_rollups ({KEY}, requests, failures, cancelled, prompt_tokens, completion_tokens,
    cache_read_tokens, cache_write_tokens, reasoning_tokens, cost_micros, latency_ms_sum, ttft_ms_sum, ttft_count,
    generation_tokens, generation_ms_sum, anonymous)
SELECT {KEY}, count(*), count(*) FILTER (WHERE status = 'failed'), count(*) FILTER (WHERE status = 'cancelled'),
       sum(prompt_tokens), sum(completion_tokens), 0, 0, 0, sum(cost_micros), sum(latency_ms), sum(ttft_ms),
       count(ttft_ms), coalesce(sum(completion_tokens) FILTER (WHERE {GENERATING}), 0),
       coalesce(sum({GENERATION}) FILTER (WHERE {GENERATING}), 0), count(*) FILTER (WHERE is_anonymous)
FROM (
    SELECT {ROW_KEY}, status, prompt_tokens, completion_tokens, cost_micros, latency_ms, ttft_ms, is_anonymous
    FROM analytics.requests
) AS q GROUP BY {KEY}
"""  # noqa: S608 - constants
BOUNDS = "ARRAY[" + ",".join(str(b) for b in BOUNDS_MS) + "]::int[]"
HISTOGRAM = f"""
INSERT INTO analytics.latency_histogram (hour, model, provider, bucket, count)
SELECT date_trunc('hour', occurred_at, 'UTC'), requested_model, coalesce(provider, ''),
       width_bucket(latency_ms - 1, {BOUNDS}), count(*)
FROM analytics.requests GROUP BY 1, 2, 3, 4
"""  # noqa: S608 - constants

ROUTES: list[tuple[str, dict[str, str], dict[str, str]]] = [
    ("/admin/v1/requests", {}, ADMIN),
    ("/admin/v1/requests", {"status": "failed", "limit": "100"}, ADMIN),
    ("/admin/v1/requests", {"user_id": "u7", "model": "model-2"}, ADMIN),
    ("/admin/v1/requests", {"provider": "bedrock", "is_fallback": "true"}, ADMIN),
    ("/admin/v1/requests/summary", {}, ADMIN),
    ("/admin/v1/requests/summary", {"user_id": "u3"}, ADMIN),
    ("/admin/v1/requests/series", {"bucket": "hour"}, ADMIN),
    ("/admin/v1/requests/series", {"bucket": "day", "model": "model-1"}, ADMIN),
    ("/admin/v1/requests/by-provider", {}, ADMIN),
    ("/admin/v1/requests/by-model", {}, ADMIN),
    ("/admin/v1/models/usage", {"q": "model", "sort_by": "p95_latency_ms"}, ADMIN),
    ("/admin/v1/monitor", {}, ADMIN),
    ("/admin/v1/tracking/quality", {"hours": "168"}, ADMIN),
    ("/admin/v1/tracking/trend", {"days": "30"}, ADMIN),
    ("/v1/metrics/tokens-per-second", {"window": "7d"}, USER),
]


@pytest.fixture
async def client(
    database_url: str, engine: AsyncEngine, test_infra: LocalInfra, namespace: Namespace, nc: NatsClient
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with engine.begin() as conn:
        for statement in (REQUESTS, ROLLUPS, HISTOGRAM):
            await conn.execute(text(statement))
    async with engine.connect() as conn:
        await conn.execute(text("ANALYZE analytics.requests, analytics.hourly_rollups, analytics.latency_histogram"))
        await conn.commit()
    settings = AnalyticsSettings(
        database_url=database_url, nats_url=test_infra.nats_url, namespace=namespace.prefix, internal_secret=SECRET
    )
    async with AsyncTestClient(create_app(settings)) as started:
        yield started


@pytest.mark.slow
@pytest.mark.timeout(600)
async def test_every_monitoring_route_stays_under_200_ms(client: AsyncTestClient[Litestar]) -> None:
    slow = {}
    for path, params, headers in ROUTES:
        timings = []
        for _ in range(3):  # the best of three: the machine is shared, the query plan is what is measured
            started = time.perf_counter()
            response = await client.get(path, params=params, headers=headers)
            timings.append(time.perf_counter() - started)
            assert response.status_code == 200, (path, response.text)
        if min(timings) > budget_s():
            slow[f"{path}?{params}"] = round(min(timings) * 1000)
    assert slow == {}, f"over {budget_s() * 1000:.0f} ms (load {os.getloadavg()[0]:.1f}): {slow}"
    # The default 7 UTC days hold most of the generated week (the part before its first midnight is outside).
    summary = (await client.get("/admin/v1/requests/summary", headers=ADMIN)).json()
    assert ROWS * 0.85 < summary["requests"] <= ROWS
