# ruff: noqa: E501 - the catalogue reads best one model per line
"""A failing fake provider opens an incident and its recovery resolves it: router → ROUTER stream → error_monitor's
worker → its outbox → relay → ERROR_MONITOR stream, every part a real process."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import msgspec
from nats.aio.client import Client as NatsClient
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tollway.contracts import IncidentOpenedV1, IncidentResolvedV1
from tollway.contracts.streams import ERROR_MONITOR_STREAM
from tollway.error_monitor.db.tables import incidents
from tollway.platform.identity import Identity
from tollway.platform.messaging import Namespace, ensure_stream
from tollway.testing.infra import LocalInfra
from tollway.testing.processes import ManagedProcess, eventually, service_env, service_process
from tollway.testing.stack import router_env, signed, start_fakellm, start_router, write_catalog

CATALOG = """
providers:
  - {id: flaky, kind: openai_compatible, base_url: http://127.0.0.1:8090/v1}
models:
  - {id: broken, context_window: 8000, max_output_tokens: 1000, prices: {input: 1, output: 1, cache_read: 1, cache_write: 1},
     deployments: [{provider: flaky, upstream_model: "fake-x+status=503"}]}
  - {id: working, context_window: 8000, max_output_tokens: 1000, prices: {input: 1, output: 1, cache_read: 1, cache_write: 1},
     deployments: [{provider: flaky, upstream_model: fake-x}]}
"""
BODY = {"messages": [{"role": "user", "content": "hi"}]}
IncidentEvent = IncidentOpenedV1 | IncidentResolvedV1


def _headers() -> dict[str, str]:
    who = Identity(request_id=f"req_{uuid.uuid4().hex}", role="user", user_id="u1", account_id="u1", api_key_id="k1")
    return signed(who)


async def incident_events(nc: NatsClient, ns: Namespace) -> list[IncidentEvent]:
    config = ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE)
    js = nc.jetstream()
    sub = await js.pull_subscribe(
        ns.subject("error_monitor.incident.>"), stream=ns.stream("ERROR_MONITOR"), config=config
    )
    try:
        pending = (await sub.consumer_info()).num_pending or 0
        found: list[IncidentEvent] = []
        if pending:
            found = [msgspec.json.decode(m.data, type=IncidentEvent) for m in await sub.fetch(pending, timeout=5)]
        return found
    finally:
        await sub.unsubscribe()


async def test_a_failing_provider_opens_an_incident_and_its_recovery_resolves_it(
    engine: AsyncEngine, database_url: str, nc: NatsClient, namespace: Namespace, test_infra: LocalInfra, tmp_path: Path
) -> None:
    urls = {"database_url": database_url, "nats_url": test_infra.nats_url, "redis_url": test_infra.redis_url}
    processes: list[ManagedProcess] = []
    try:
        fake, upstream = start_fakellm()
        processes.append(fake)
        catalog = write_catalog(CATALOG, upstream, tmp_path)
        # The router's breaker stays closed here, so every request reaches the failing upstream.
        router, url = start_router(
            router_env(**urls, namespace=namespace.prefix), catalog, BREAKER_FAILURE_THRESHOLD="1000"
        )
        processes.append(router)
        env = service_env("error_monitor", **urls, namespace=namespace.prefix, INCIDENT_BREAKER_FAILURES="4")
        processes += [service_process("error_monitor", role, env).start() for role in ("worker", "relay")]
        await ensure_stream(nc.jetstream(), ERROR_MONITOR_STREAM, namespace)

        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            for _ in range(5):
                answer = await client.post("/internal/v1/chat", headers=_headers(), json={"model": "broken", **BODY})
                assert answer.status_code >= 500

            async def opened() -> bool:
                return any(isinstance(e, IncidentOpenedV1) for e in await incident_events(nc, namespace))

            await eventually(opened, within=45, what="incident.opened.v1 on the ERROR_MONITOR stream")
            for _ in range(3):
                answer = await client.post("/internal/v1/chat", headers=_headers(), json={"model": "working", **BODY})
                assert answer.status_code == 200

            async def resolved() -> bool:
                return any(isinstance(e, IncidentResolvedV1) for e in await incident_events(nc, namespace))

            await eventually(resolved, within=45, what="incident.resolved.v1 on the ERROR_MONITOR stream")
    finally:
        for process in processes:
            process.stop()

    opened_event, resolved_event = await incident_events(nc, namespace)
    assert isinstance(opened_event, IncidentOpenedV1)
    assert (opened_event.kind, opened_event.provider, opened_event.incident_severity) == (
        "provider_health",
        "flaky",
        "critical",
    )
    assert isinstance(resolved_event, IncidentResolvedV1)
    assert (resolved_event.incident_id, resolved_event.resolved_by) == (opened_event.incident_id, "auto")
    async with engine.connect() as conn:
        (row,) = (await conn.execute(select(incidents))).all()
    assert (row.id, row.status, row.provider) == (opened_event.incident_id, "resolved", "flaky")
    assert row.duration_seconds == resolved_event.duration_seconds >= 0
