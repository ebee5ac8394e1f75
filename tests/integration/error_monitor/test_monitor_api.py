"""error_monitor on real Postgres: patterns, provider incidents opened and auto-resolved, spikes, and the admin API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from nats.aio.client import Client as NatsClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tollway.contracts import (
    ErrorReportedV1,
    IncidentOpenedV1,
    IncidentResolvedV1,
    ProviderAttemptV1,
    RequestCompletedV1,
    RequestFailedV1,
    decode,
)
from tollway.error_monitor import handlers
from tollway.error_monitor.app import create_app
from tollway.error_monitor.db.repositories import SqlAlchemyErrorLog
from tollway.error_monitor.db.tables import incidents, messaging, patterns
from tollway.error_monitor.domain.incidents import IncidentRules
from tollway.error_monitor.settings import ErrorMonitorSettings
from tollway.platform.identity import Identity, Role, sign_identity
from tollway.platform.messaging import Namespace
from tollway.testing.infra import LocalInfra

SECRET = "error-monitor-test-secret"
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2)
Client = AsyncTestClient[Litestar]


def signed(role: Role = "admin") -> dict[str, str]:
    return sign_identity(Identity(request_id="req-test", role=role), SECRET.encode())


def failed(i: int, provider: str = "openai", at: datetime = T0) -> RequestFailedV1:
    attempt = ProviderAttemptV1(provider=provider, upstream_model="m", error_class="timeout", status_code=504)
    return RequestFailedV1(
        event_id=f"fail-{provider}-{i}",
        occurred_at=at + timedelta(seconds=i),
        request_id=f"fail-{provider}-{i}",
        user_id="u1",
        account_id="u1",
        api_key_id="k1",
        is_anonymous=False,
        requested_model="gpt",
        error_class="upstream_unavailable",
        status_code=503,
        attempts=(attempt,),
    )


def served(i: int, provider: str = "openai", at: datetime = T0) -> RequestCompletedV1:
    return RequestCompletedV1(
        event_id=f"ok-{provider}-{i}",
        occurred_at=at + timedelta(seconds=i),
        request_id=f"ok-{provider}-{i}",
        user_id="u1",
        account_id="u1",
        api_key_id="k1",
        is_anonymous=False,
        requested_model="gpt",
        provider=provider,
        upstream_model="m",
        is_fallback=False,
        attempts=1,
        prompt_tokens=1,
        completion_tokens=1,
        latency_ms=50,
    )


@pytest.fixture
def log(engine: AsyncEngine) -> SqlAlchemyErrorLog:
    return SqlAlchemyErrorLog(engine, IncidentRules())


async def outbox_events(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(messaging.outbox.c.subject, messaging.outbox.c.payload).order_by(messaging.outbox.c.seq)
            )
        ).all()
    # One tagged union decodes both: the ``type`` field names the class.
    return [decode(IncidentOpenedV1 | IncidentResolvedV1, payload) for _, payload in rows]  # type: ignore[arg-type]


@pytest.fixture
async def client(
    database_url: str, test_infra: LocalInfra, namespace: Namespace, nc: NatsClient
) -> AsyncIterator[Client]:
    settings = ErrorMonitorSettings(
        database_url=database_url, nats_url=test_infra.nats_url, namespace=namespace.prefix, internal_secret=SECRET
    )
    async with AsyncTestClient(create_app(settings)) as started:
        yield started


async def test_a_failing_provider_opens_one_incident_and_recovery_resolves_it(
    log: SqlAlchemyErrorLog, engine: AsyncEngine
) -> None:
    await handlers.record_failed_requests([failed(i) for i in range(4)], log, "failed")
    async with engine.connect() as conn:
        assert (await conn.execute(select(incidents))).all() == []  # 4 in a row: not yet
    await handlers.record_failed_requests([failed(i) for i in range(4, 8)], log, "failed")
    await handlers.record_failed_requests([failed(i) for i in range(8)], log, "failed")  # redelivered: no-op
    async with engine.connect() as conn:
        (incident,) = (await conn.execute(select(incidents))).all()
    assert (incident.kind, incident.provider, incident.status, incident.severity) == (
        "provider_health",
        "openai",
        "ongoing",
        "critical",
    )
    await handlers.record_completed_requests([served(i, at=T0 + timedelta(seconds=30)) for i in range(2)], log, "ok")
    async with engine.connect() as conn:
        assert (await conn.execute(select(incidents.c.status))).scalar_one() == "ongoing"
    await handlers.record_completed_requests([served(2, at=T0 + timedelta(seconds=30))], log, "ok")
    async with engine.connect() as conn:
        row = (await conn.execute(select(incidents))).one()
    assert (row.status, row.resolved_by) == ("resolved", "auto")
    assert row.duration_seconds == 25  # from the batch with the 5th failure (T0 + 7 s) to the 3rd success (T0 + 32 s)
    opened, resolved = await outbox_events(engine)
    assert (opened.incident_id, opened.kind, opened.provider) == (row.id, "provider_health", "openai")
    assert (resolved.incident_id, resolved.resolved_by, resolved.duration_seconds) == (row.id, "auto", 25)


async def test_errors_count_into_patterns_and_a_spike_opens_an_incident(engine: AsyncEngine) -> None:
    log = SqlAlchemyErrorLog(engine, IncidentRules(spike_errors=4))
    reports = [
        ErrorReportedV1(occurred_at=T0, service="billing", kind="poison_message", message=f"bad event {i} in batch")
        for i in range(4)
    ]
    assert await handlers.record_error_reports(reports[:2], log, "billing") == 2
    assert await handlers.record_error_reports(reports, log, "billing") == 2  # the first two were seen
    async with engine.connect() as conn:
        (pattern,) = (await conn.execute(select(patterns))).all()
        (incident,) = (await conn.execute(select(incidents))).all()
    assert (pattern._mapping["count"], pattern.message, pattern.category) == (
        4,
        "bad event <n> in batch",
        "INTERNAL_ERROR",
    )
    assert (incident.kind, incident.pattern_id, incident.error_count) == ("error_spike", pattern.id, 4)


async def test_the_admin_api(client: Client, log: SqlAlchemyErrorLog) -> None:
    await handlers.record_failed_requests([failed(i) for i in range(6)], log, "failed")
    report = ErrorReportedV1(occurred_at=T0, service="billing", kind="db", message="asyncpg: connection pool exhausted")
    await handlers.record_error_reports([report], log, "billing")
    for path in ("/admin/v1/errors", "/admin/v1/incidents", "/admin/v1/errors/dashboard", "/admin/v1/incidents/stats"):
        assert (await client.get(path)).status_code == 401
        assert (await client.get(path, headers=signed("user"))).status_code == 403

    errors = (await client.get("/admin/v1/errors", params={"limit": "4"}, headers=signed())).json()
    assert len(errors["data"]) == 4
    assert errors["has_more"]
    rest = (await client.get("/admin/v1/errors", params={"before": errors["next_before"]}, headers=signed())).json()
    assert len(rest["data"]) == 3
    assert not rest["has_more"]
    critical = (await client.get("/admin/v1/errors", params={"severity": "critical"}, headers=signed())).json()
    assert [(e["service"], e["category"], e["fixable"]) for e in critical["data"]] == [
        ("billing", "DATABASE_ERROR", True)
    ]
    bad = await client.get("/admin/v1/errors", params={"severity": "dire"}, headers=signed())
    assert (bad.status_code, bad.json()["error"]["param"]) == (422, "severity")

    found = (await client.get("/admin/v1/errors/patterns", params={"sort": "severity"}, headers=signed())).json()
    assert [p["severity"] for p in found["data"]] == ["critical", "high"]
    pattern_id = found["data"][1]["id"]
    one = (await client.get(f"/admin/v1/errors/patterns/{pattern_id}", headers=signed())).json()
    assert (one["count"], len(one["recent_errors"])) == (6, 6)
    assert (await client.get("/admin/v1/errors/patterns/pat_nope", headers=signed())).status_code == 404
    board = (await client.get("/admin/v1/errors/dashboard", headers=signed())).json()
    assert board["summary"]["total_patterns"] == 2
    assert [i["provider"] for i in board["ongoing_incidents"]] == ["openai"]

    listed = (await client.get("/admin/v1/incidents", params={"status": "ongoing"}, headers=signed())).json()
    assert (listed["total_incidents"], listed["ongoing"]) == (1, 1)
    incident_id = listed["data"][0]["id"]
    logs = (await client.get(f"/admin/v1/incidents/{incident_id}/logs", headers=signed())).json()
    assert logs["total_logs"] == 6
    searched = await client.get(
        f"/admin/v1/incidents/{incident_id}/logs", params={"search": "nothing"}, headers=signed()
    )
    assert searched.json()["total_logs"] == 0
    analysis = (await client.get(f"/admin/v1/incidents/{incident_id}/analysis", headers=signed())).json()
    assert (analysis["total"], analysis["by_category"]) == (6, {"PROVIDER_ERROR": 6})

    resolve = f"/admin/v1/incidents/{incident_id}/resolve"
    done = await client.post(resolve, json={"resolved_by": "ops@example.com", "notes": "failover"}, headers=signed())
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["resolved_by"], done.json()["notes"]) == (
        "resolved",
        "admin:ops@example.com",
        "failover",
    )
    again = await client.post(resolve, json={}, headers=signed())
    assert (again.status_code, again.json()["error"]["code"]) == (409, "conflict")
    assert (await client.post("/admin/v1/incidents/inc_nope/resolve", headers=signed())).status_code == 404
    stats = (await client.get("/admin/v1/incidents/stats", params={"days": "7"}, headers=signed())).json()
    assert (stats["total_incidents"], stats["by_status"], stats["period_days"]) == (1, {"resolved": 1}, 7)
    assert set(stats["downtime_by_provider"]) == {"openai"}


async def test_incidents_keep_opening_after_postgres_switches_to_a_generic_plan(
    log: SqlAlchemyErrorLog, engine: AsyncEngine
) -> None:
    # The ON CONFLICT ... WHERE status = 'ongoing' that finds the partial unique index was bound as a parameter:
    # Postgres plans a prepared statement with its values five times, then generically, and a generic plan
    # cannot match a partial index to a parameter ("no unique or exclusion constraint matching the ON CONFLICT
    # specification"). Under load every incident's batch then failed until it was dead-lettered.
    for round_ in range(8):
        at = T0 + timedelta(minutes=round_)
        providers = f"p{round_}"
        await handlers.record_failed_requests([failed(i, providers, at) for i in range(8)], log, f"failed-{round_}")
    async with engine.connect() as conn:
        opened = (await conn.execute(select(incidents.c.provider).where(incidents.c.status == "ongoing"))).scalars()
        assert sorted(opened) == [f"p{i}" for i in range(8)]
