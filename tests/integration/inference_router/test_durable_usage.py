# ruff: noqa: E501 - the catalogue reads best one model per line
"""A router SIGKILLed right after answering loses no usage: the final frame waits for the durable write.

Before ADR 007 the event was only staged in memory for a group commit; with the commit interval at 2 s every
request answered within 2 s of the kill was served and never billed. This test failed then (44 of 62
answers lost in one run) and passes now: each answer's event is on the ROUTER stream (or, had NATS not acked, committed to
the outbox) before the client sees the answer end.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from nats.aio.client import Client as NatsClient
from sqlalchemy import make_url, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.e2e.stack.crash_tools import GroupProcess, TcpProxy
from tests.integration.inference_router.usage_events import UsageEvents
from tollway.platform.db import make_metadata
from tollway.platform.messaging import MessagingTables
from tollway.testing.infra import LocalInfra
from tollway.testing.namespaces import purge_namespace
from tollway.testing.processes import PrivateNatsServer, eventually, free_port
from tollway.testing.stack import RouterUnderTest, router_env, start_fakellm, wait_http, write_catalog

pytestmark = pytest.mark.slow

CATALOG = """
providers:
  - {id: primary, kind: openai_compatible, base_url: http://127.0.0.1:8090/v1}
  - {id: claude, kind: anthropic, base_url: http://127.0.0.1:8090}
models:
  - {id: ok, context_window: 8000, max_output_tokens: 1000, prices: &p {input: 150000, output: 600000, cache_read: 75000, cache_write: 150000},
     deployments: [{provider: primary, upstream_model: "fake-ok+tokens=8"}]}
  - {id: claude-ok, context_window: 8000, max_output_tokens: 1000, prices: *p,
     deployments: [{provider: claude, upstream_model: "fake-claude+tokens=8"}]}
"""
outbox = MessagingTables(make_metadata("inference_router")).outbox
REQUESTS = 150
KILL_AFTER = 60
LANES = 12


def start_crashable_router(env: dict[str, str], catalog: Path, **settings: str) -> tuple[GroupProcess, str]:
    port = free_port()
    values = {"PORT": str(port), "CATALOG_PATH": str(catalog), "WORKERS": "1", **settings}
    process = GroupProcess(
        "inference_router-serve",
        [sys.executable, "-m", "tollway.inference_router", "serve"],
        {**env, **{f"INFERENCE_ROUTER_{key}": value for key, value in values.items()}},
    ).start()
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/ready", process)
    return process, url


@pytest.fixture
def crashable_router(
    migrated_database_url: str, test_infra: LocalInfra, tmp_path: Path
) -> Iterator[tuple[RouterUnderTest, GroupProcess]]:
    namespace = f"r{uuid.uuid4().hex[:10]}"
    fake, upstream = start_fakellm()
    catalog = write_catalog(CATALOG, upstream, tmp_path)
    env = router_env(
        database_url=migrated_database_url,
        nats_url=test_infra.nats_url,
        redis_url=test_infra.redis_url,
        namespace=namespace,
    )
    process, url = start_crashable_router(env, catalog, OUTBOX_FLUSH_INTERVAL_S="2.0")
    try:
        yield RouterUnderTest(url, upstream, namespace, env, catalog), process
    finally:
        process.kill()
        fake.stop()
        asyncio.run(purge_namespace(test_infra.nats_url, test_infra.redis_url, namespace))


class Outage:
    """A router on a private NATS server and behind a proxy to Postgres, so the test can take both away."""

    def __init__(self, router: RouterUnderTest, nats: PrivateNatsServer, postgres: TcpProxy) -> None:
        self.router = router
        self.nats = nats
        self.postgres = postgres


@pytest.fixture
def outage_router(migrated_database_url: str, test_infra: LocalInfra, tmp_path: Path) -> Iterator[Outage]:
    namespace = f"r{uuid.uuid4().hex[:10]}"
    target = make_url(migrated_database_url)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432).start()
    nats = PrivateNatsServer()
    nats.start()
    fake, upstream = start_fakellm()
    catalog = write_catalog(CATALOG, upstream, tmp_path)
    env = router_env(
        database_url=target.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False),
        nats_url=nats.url,
        redis_url=test_infra.redis_url,
        namespace=namespace,
    )
    process, url = start_crashable_router(env, catalog, USAGE_BUFFER_CAPACITY="3", USAGE_ACK_TIMEOUT_S="0.2")
    try:
        yield Outage(RouterUnderTest(url, upstream, namespace, env, catalog), nats, proxy)
    finally:
        process.kill()
        fake.stop()
        nats.close()
        proxy.close()
        asyncio.run(purge_namespace(test_infra.nats_url, test_infra.redis_url, namespace))


async def answer(client: httpx.AsyncClient, router: RouterUnderTest, i: int) -> str | None:
    """One call (plain, OpenAI stream, Anthropic stream in turn); its id if the answer arrived complete."""
    request_id = f"dur-{i:04d}"
    api = "anthropic" if i % 3 == 2 else "openai"
    body: dict[str, object] = {"model": "claude-ok" if i % 3 == 2 else "ok", "max_tokens": 16}
    body["messages"] = [{"role": "user", "content": "hello"}]
    body["stream"] = i % 3 != 0
    try:
        async with client.stream("POST", "/internal/v1/chat", headers=router.headers(request_id, api), json=body) as r:
            raw = b"".join([chunk async for chunk in r.aiter_raw()])
    except httpx.HTTPError:
        return None  # cut by the kill
    if r.status_code != 200:
        return None
    if i % 3 == 0:
        return request_id if b'"choices"' in raw else None
    ending = b"data: [DONE]" if api == "openai" else b"event: message_stop"
    return request_id if ending in raw else None


async def test_every_answer_completed_before_a_sigkill_has_a_durable_usage_event(
    crashable_router: tuple[RouterUnderTest, GroupProcess], nc: NatsClient, engine: AsyncEngine
) -> None:
    router, process = crashable_router
    answered: list[str] = []
    pending = iter(range(REQUESTS))
    killed = asyncio.Event()

    async with httpx.AsyncClient(base_url=router.url, timeout=10) as client:

        async def lane() -> None:
            for i in pending:
                if killed.is_set():
                    return
                if (request_id := await answer(client, router, i)) is not None:
                    answered.append(request_id)
                if len(answered) >= KILL_AFTER and not killed.is_set():
                    killed.set()
                    process.kill()  # the instant the answer ended: no graceful shutdown, no flush

        await asyncio.gather(*(lane() for _ in range(LANES)))

    stream = {e.request_id for e in await UsageEvents(nc, router.namespace).all()}
    async with engine.connect() as conn:
        spooled = set((await conn.execute(select(outbox.c.event_id))).scalars().all())
    lost = sorted(set(answered) - stream - spooled)
    assert len(answered) >= KILL_AFTER
    assert lost == [], f"{len(lost)} of {len(answered)} answered requests have no usage event"


async def test_with_no_durable_store_the_buffer_fills_then_ready_fails_and_calls_get_503(outage_router: Outage) -> None:
    router = outage_router.router
    body = {"model": "ok", "messages": [{"role": "user", "content": "hello"}]}
    outage_router.nats.kill()
    outage_router.postgres.cut()
    async with httpx.AsyncClient(base_url=router.url, timeout=30) as client:
        held = [
            asyncio.create_task(client.post("/internal/v1/chat", headers=router.headers(f"held-{i}"), json=body))
            for i in range(3)
        ]

        async def ready_check() -> str:
            return str((await client.get("/ready")).json()["checks"]["usage_buffer"])

        async def buffer_full() -> bool:
            return await ready_check() != "ok"

        await eventually(buffer_full, within=10, what="the usage buffer to fill")
        refused = await client.post("/internal/v1/chat", headers=router.headers("refused"), json=body)
        assert not any(task.done() for task in held)  # no answer before its event is stored

        outage_router.postgres.restore()
        answers = await asyncio.gather(*held)
        assert await ready_check() == "ok"
        again = await client.post("/internal/v1/chat", headers=router.headers("after"), json=body)

    assert (refused.status_code, refused.headers["retry-after"]) == (503, "1")
    assert refused.json()["error"]["message"]
    assert [answer.status_code for answer in answers] == [200] * 3
    assert again.status_code == 200


async def test_with_only_postgres_down_the_router_stays_ready_and_serves(outage_router: Outage) -> None:
    router = outage_router.router
    body = {"model": "ok", "messages": [{"role": "user", "content": "hello"}]}
    outage_router.postgres.cut()  # its only use is the outbox fallback: JetStream still acks every usage event
    try:
        async with httpx.AsyncClient(base_url=router.url, timeout=30) as client:
            answers = [
                await client.post("/internal/v1/chat", headers=router.headers(f"pg-{i}"), json=body) for i in range(5)
            ]
            ready = await client.get("/ready")
    finally:
        outage_router.postgres.restore()

    assert [answer.status_code for answer in answers] == [200] * 5
    assert ready.status_code == 200
    assert ready.json()["status"] == "degraded"
    assert ready.json()["checks"]["postgres"] != "ok"
