"""Provider usage import (Anthropic and OpenAI admin APIs emulated by fakellm) and reconciliation on real Postgres."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from nats.aio.client import Client as NatsClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.analytics.conftest import Events
from tollway.analytics import handlers
from tollway.analytics.app import create_app
from tollway.analytics.db.repositories import SqlAlchemyRequestLog
from tollway.analytics.db.tables import messaging, provider_usage
from tollway.analytics.settings import AnalyticsSettings
from tollway.analytics.usage_import_role import import_all
from tollway.contracts import ReconciliationDriftedV1, decode
from tollway.platform.identity import Identity, Role, sign_identity
from tollway.platform.messaging import Namespace
from tollway.testing.infra import LocalInfra
from tollway.testing.stack import start_fakellm

SECRET = "analytics-provider-usage-secret"
Client = AsyncTestClient[Litestar]
IMPORT = "/admin/v1/provider-usage/import"
# page_size 1: every day is its own page, so the importers must follow next_page;
# rate_limit_every 3: every third admin request is a 429 the importers wait out.
FIXTURE = {
    "page_size": 1,
    "rate_limit_every": 3,
    "rows": [
        {"provider": "anthropic", "model": "claude-x", "day": "2026-11-01", "input_tokens": 1000, "output_tokens": 200,
         "cache_read_tokens": 300, "cache_write_tokens": 40, "cost_micros": 1_050_000},
        {"provider": "anthropic", "model": "claude-x", "day": "2026-11-02", "input_tokens": 500,
         "cost_micros": 495_000},
        {"provider": "openai", "model": "gpt-x", "day": "2026-11-01", "input_tokens": 700, "output_tokens": 70,
         "cache_read_tokens": 100, "cost_micros": 2_000_000},
    ],
}  # fmt: skip


def signed(role: Role = "admin") -> dict[str, str]:
    return sign_identity(Identity(request_id="req-test", role=role, user_id="u1"), SECRET.encode())


@pytest.fixture(scope="module")
def fakellm() -> Iterator[str]:
    process, url = start_fakellm()
    try:
        yield url
    finally:
        process.stop()


@pytest.fixture
def settings(database_url: str, test_infra: LocalInfra, namespace: Namespace, fakellm: str) -> AnalyticsSettings:
    return AnalyticsSettings(
        database_url=database_url,
        nats_url=test_infra.nats_url,
        namespace=namespace.prefix,
        internal_secret=SECRET,
        anthropic_admin_url=fakellm,
        anthropic_admin_key="sk-ant-admin-test",
        openai_admin_url=fakellm,
        openai_admin_key="sk-admin-test",
    )


@pytest.fixture
async def client(settings: AnalyticsSettings, nc: NatsClient, fakellm: str) -> AsyncIterator[Client]:
    async with httpx.AsyncClient() as fake:
        (await fake.post(f"{fakellm}/_fakellm/admin-usage", json=FIXTURE)).raise_for_status()
    async with AsyncTestClient(create_app(settings)) as started:
        yield started


async def _record(engine: AsyncEngine, events: Events, rows: list[tuple[str, str, int, int]]) -> None:
    """Tollway's own records: (provider, upstream model, day of November 2026, cost) per request."""
    completed = [
        events.completed(
            i, provider=p, upstream_model=m, cost_micros=c, occurred_at=datetime(2026, 11, d, 12, tzinfo=UTC)
        )
        for i, (p, m, d, c) in enumerate(rows)
    ]
    await handlers.record_completed_requests(completed, SqlAlchemyRequestLog(engine), "test")


async def _imported(engine: AsyncEngine) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(provider_usage).order_by(provider_usage.c.provider, provider_usage.c.day))
        return [{k: v for k, v in row._asdict().items() if k != "imported_at"} for row in rows]


async def test_import_is_idempotent_and_resumes_from_the_cursor(client: Client, engine: AsyncEngine) -> None:
    window = {"provider": "anthropic", "from": "2026-11-01", "to": "2026-11-03"}
    first = await client.post(IMPORT, params=window, headers=signed())
    assert first.status_code == 200, first.text
    assert first.json() == {
        "provider": "anthropic", "from": "2026-11-01", "to": "2026-11-03", "rows": 2, "changed": 2,
        "cursor": "2026-11-03",
    }  # fmt: skip
    stored = await _imported(engine)
    assert stored[0]["day"].isoformat() == "2026-11-01"
    assert {k: stored[0][k] for k in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")} == {
        "input_tokens": 1000, "output_tokens": 200, "cache_read_tokens": 300, "cache_write_tokens": 40,
    }  # fmt: skip
    assert [row["cost_micros"] for row in stored] == [1_050_000, 495_000]

    again = await client.post(IMPORT, params=window, headers=signed())
    assert (again.json()["rows"], again.json()["changed"]) == (2, 0)
    assert await _imported(engine) == stored

    resumed = await client.post(IMPORT, params={"provider": "anthropic", "to": "2026-11-05"}, headers=signed())
    assert (resumed.json()["from"], resumed.json()["cursor"], resumed.json()["changed"]) == (
        "2026-11-03", "2026-11-05", 0,
    )  # fmt: skip

    openai = await client.post(IMPORT, params={"provider": "openai", "to": "2026-11-02"}, headers=signed())
    assert (openai.json()["from"], openai.json()["rows"]) == ("2026-10-27", 1)
    gpt = [row for row in await _imported(engine) if row["provider"] == "openai"]
    # OpenAI counts cache reads inside input_tokens; stored input excludes them, as Anthropic's does.
    assert (gpt[0]["input_tokens"], gpt[0]["cache_read_tokens"], gpt[0]["cost_micros"]) == (700, 100, 2_000_000)


async def test_a_five_percent_drift_is_flagged_once(client: Client, engine: AsyncEngine, events: Events) -> None:
    await _record(
        engine,
        events,
        [
            ("anthropic", "claude-x", 1, 600_000),
            ("anthropic", "claude-x", 1, 400_000),  # 1.00 $ recorded, 1.05 $ reported: +5 %
            ("anthropic", "claude-x", 2, 500_000),  # 0.495 $ reported: -1 %, within ±2 %
            ("openai", "gpt-x", 1, 2_000_000),
        ],
    )
    for provider in ("anthropic", "openai"):
        params = {"provider": provider, "from": "2026-11-01", "to": "2026-11-02"}
        assert (await client.post(IMPORT, params=params, headers=signed())).status_code == 200

    window = {"from": "2026-11-01", "to": "2026-11-02"}
    report = await client.get("/admin/v1/reconciliation", params=window, headers=signed())
    assert report.status_code == 200, report.text
    body = report.json()
    assert (body["drifted"], body["new_drift_events"], body["tolerance_bps"]) == (1, 1, 200)
    lines = {(line["provider"], line["day"]): line for line in body["data"]}
    assert lines["anthropic", "2026-11-01"] == {
        "provider": "anthropic", "model": "claude-x", "day": "2026-11-01", "provider_cost_micros": 1_050_000,
        "recorded_cost_micros": 1_000_000, "drift_bps": 500, "drifted": True,
    }  # fmt: skip
    assert (lines["anthropic", "2026-11-02"]["drift_bps"], lines["anthropic", "2026-11-02"]["drifted"]) == (-100, False)
    assert (lines["openai", "2026-11-01"]["drift_bps"], lines["openai", "2026-11-01"]["drifted"]) == (0, False)

    again = await client.get("/admin/v1/reconciliation", params=window, headers=signed())
    assert (again.json()["drifted"], again.json()["new_drift_events"]) == (1, 0)
    async with engine.connect() as conn:
        outbox = (await conn.execute(select(messaging.outbox.c.subject, messaging.outbox.c.payload))).all()
    drifts = [
        decode(ReconciliationDriftedV1, payload)
        for subject, payload in outbox
        if subject == "analytics.reconciliation.drifted.v1"
    ]
    assert len(drifts) == 1
    assert isinstance(drifts[0], ReconciliationDriftedV1)
    assert (drifts[0].model, drifts[0].drift_bps, drifts[0].recorded_cost_micros) == ("claude-x", 500, 1_000_000)


async def test_bad_requests_are_refused_in_the_error_shape(client: Client) -> None:
    assert (await client.post(IMPORT, params={"provider": "anthropic"})).status_code == 401
    assert (await client.get("/admin/v1/reconciliation", headers=signed("user"))).status_code == 403
    unknown = await client.post(IMPORT, params={"provider": "mistral"}, headers=signed())
    assert (unknown.status_code, unknown.json()["error"]["param"]) == (422, "provider")
    bad_day = await client.get("/admin/v1/reconciliation", params={"from": "yesterday"}, headers=signed())
    assert (bad_day.status_code, bad_day.json()["error"]["param"]) == (422, "from")
    backwards = {"provider": "openai", "from": "2026-11-05", "to": "2026-11-01"}
    assert (await client.post(IMPORT, params=backwards, headers=signed())).status_code == 422


async def test_a_provider_that_keeps_refusing_is_a_502_and_moves_no_cursor(
    client: Client, fakellm: str, engine: AsyncEngine
) -> None:
    async with httpx.AsyncClient() as fake:
        (await fake.post(f"{fakellm}/_fakellm/admin-usage", json={**FIXTURE, "rate_limit_every": 1})).raise_for_status()
    refused = await client.post(IMPORT, params={"provider": "openai", "to": "2026-11-02"}, headers=signed())
    assert refused.status_code == 502
    assert (refused.json()["error"]["type"], refused.json()["error"]["param"]) == ("server_error", "provider")
    assert "sk-admin" not in refused.text
    assert await _imported(engine) == []


async def test_the_import_usage_role_imports_every_configured_provider_from_its_cursor(
    client: Client, settings: AnalyticsSettings
) -> None:
    for provider in ("anthropic", "openai"):
        params = {"provider": provider, "from": "2026-11-01", "to": "2026-11-01"}
        assert (await client.post(IMPORT, params=params, headers=signed())).status_code == 200
    results = await import_all(settings)
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    assert [(r.provider, r.start.isoformat(), r.end, r.cursor) for r in results] == [
        ("anthropic", "2026-11-01", yesterday, yesterday),
        ("openai", "2026-11-01", yesterday, yesterday),
    ]
    assert sum(r.rows for r in results) == 3  # 11-01 again (anthropic and openai) and anthropic's 11-02
    assert (results[0].changed, results[1].changed) == (1, 0)
