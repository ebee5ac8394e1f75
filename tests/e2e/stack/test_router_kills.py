"""2,000 requests through a gateway while its inference_router is SIGKILLed three times, then Postgres cut for 5 s.

The stack runs as ``make run`` starts it; the test runs its own router (killed with its granian workers, then
restarted as a supervisor would) and its own gateway in front of it, both reaching Postgres through a proxy the
test cuts. After the pipeline drains:

- every request ended at the client, answered in full or failed (none hangs, none is lost without an answer);
- every answered request has exactly one completed usage event and exactly one debit, to the micro-dollar;
- a request cut by a kill is debited at most once and has at most one usage event (never both a completed and
  a failed one): the router dies before or after its event was stored, never half-way;
- billing's debits are exactly the router's completed events, and ``billing verify`` passes.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import anthropic
import httpx
import msgspec
import openai
import pytest
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.e2e.stack.crash_tools import GroupProcess, TcpProxy
from tests.e2e.stack.test_money_path import debits_by_request
from tollway.contracts import RequestCompletedV1, RequestFailedV1
from tollway.platform.identity import Identity, sign_identity
from tollway.platform.messaging import Namespace, connect_nats
from tollway.testing.infra import LocalInfra
from tollway.testing.processes import (
    ManagedProcess,
    assert_billing_verifies,
    eventually,
    free_port,
    service_env,
)
from tollway.testing.stack import DEV_SECRET, RunningStack, wait_http

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

REQUESTS = int(os.environ.get("TOLLWAY_ROUTER_KILLS_REQUESTS", "2000"))  # fewer while working on the test
KILLS = 3
PART = REQUESTS // 5  # a kill lands inside each of the first three parts, the Postgres cut inside the fourth
PROGRESS = PART // 3  # answers of a part before its fault
CONCURRENCY = 16
BACKOFF_S = 1.0  # a client that got an error waits before its next request, as SDK retries would
POSTGRES_DOWN_S = 5.0
HI = [{"role": "user", "content": "Say hello"}]
UsageEvent = msgspec.json.Decoder(RequestCompletedV1 | RequestFailedV1)


@dataclass
class Edge:
    """The router and gateway this test owns, and the proxy between them and Postgres."""

    router: GroupProcess
    gateway: ManagedProcess
    router_url: str
    base_url: str
    proxy: TcpProxy
    namespace: str


@dataclass
class Outcomes:
    answered: list[str] = field(default_factory=list)  # request ids whose answer arrived complete
    failed: list[str | None] = field(default_factory=list)  # the id when the gateway gave one
    reasons: Counter[str] = field(default_factory=Counter)  # why requests failed, for the failure message


class Load:
    """OpenAI chat (plain and streamed) and Anthropic messages (plain and streamed), in turn."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self.openai = openai.AsyncOpenAI(base_url=f"{base_url}/v1", api_key=api_key, max_retries=0, timeout=30)
        self.anthropic = anthropic.AsyncAnthropic(base_url=base_url, api_key=api_key, max_retries=0, timeout=30)
        self.outcomes = Outcomes()

    async def one(self, i: int) -> bool:
        """One request; True if it was answered in full."""
        holder: dict[str, str] = {}
        kind = (self._chat, self._streamed_chat, self._messages, self._streamed_messages)[i % 4]
        try:
            complete = await kind(holder)
            self.outcomes.reasons["incomplete answer"] += not complete
        except (openai.APIError, anthropic.APIError, httpx.HTTPError) as exc:
            response = getattr(exc, "response", None)
            self.outcomes.reasons[f"{type(exc).__name__} {getattr(exc, 'status_code', '')}".strip()] += 1
            holder.setdefault("id", response.headers.get("x-request-id", "") if response is not None else "")
            complete = False
        if complete:
            self.outcomes.answered.append(holder["id"])
        else:
            self.outcomes.failed.append(holder.get("id") or None)
        return complete

    async def _chat(self, holder: dict[str, str]) -> bool:
        raw = await self.openai.chat.completions.with_raw_response.create(
            model="gpt-4o-mini",
            messages=HI,  # type: ignore[arg-type]
            max_tokens=32,
        )
        holder["id"] = raw.headers["x-request-id"]
        return bool(raw.parse().choices[0].message.content)

    async def _streamed_chat(self, holder: dict[str, str]) -> bool:
        raw = await self.openai.chat.completions.with_raw_response.create(
            model="gpt-4o-mini",
            messages=HI,  # type: ignore[arg-type]
            max_tokens=32,
            stream=True,
            stream_options={"include_usage": True},
        )
        holder["id"] = raw.headers["x-request-id"]
        chunks = [chunk async for chunk in raw.parse()]
        return bool(chunks) and chunks[-1].usage is not None  # the usage chunk comes with the closing frames

    async def _messages(self, holder: dict[str, str]) -> bool:
        raw = await self.anthropic.messages.with_raw_response.create(
            model="claude-3-5-haiku",
            max_tokens=32,
            messages=HI,  # type: ignore[arg-type]
        )
        holder["id"] = raw.headers["x-request-id"]
        return bool((await raw.parse()).content)

    async def _streamed_messages(self, holder: dict[str, str]) -> bool:
        raw = await self.anthropic.messages.with_raw_response.create(
            model="claude-3-5-haiku",
            max_tokens=32,
            messages=HI,  # type: ignore[arg-type]
            stream=True,
        )
        holder["id"] = raw.headers["x-request-id"]
        events = [event async for event in await raw.parse()]
        return bool(events) and events[-1].type == "message_stop"

    async def part(self, numbers: range) -> None:
        pending = iter(numbers)

        async def lane() -> None:
            for i in pending:
                if not await self.one(i):
                    await asyncio.sleep(BACKOFF_S)

        await asyncio.gather(*(lane() for _ in range(CONCURRENCY)))

    async def close(self) -> None:
        await self.openai.close()
        await self.anthropic.close()


@pytest.fixture(scope="module")
def edge(stack: RunningStack, migrated_database_url: str, test_infra: LocalInfra) -> Iterator[Edge]:
    namespace = f"stack{stack.offset}"
    target = make_url(migrated_database_url)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432).start()
    proxied = target.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    router_port, gateway_port = free_port(), free_port()

    def env(service: str, **extra: str) -> dict[str, str]:
        values = service_env(
            service,
            database_url=proxied,
            nats_url=test_infra.nats_url,
            redis_url=test_infra.redis_url,
            namespace=namespace,
            workers="1",
            **extra,
        )
        return {**values, "TOLLWAY_ENV": "development"}

    router = GroupProcess(
        "inference_router-serve",
        [sys.executable, "-m", "tollway.inference_router", "serve"],
        env("inference_router", port=str(router_port), catalog_path=str(stack.run_dir / "catalog.yaml")),
    )
    gateway = ManagedProcess(
        "gateway-serve",
        [sys.executable, "-m", "tollway.gateway", "serve"],
        env(
            "gateway",
            port=str(gateway_port),
            admin_key=stack.admin_key,
            router_url=f"http://127.0.0.1:{router_port}",
            billing_url=f"http://127.0.0.1:{8082 + stack.offset}",
            analytics_url=f"http://127.0.0.1:{8083 + stack.offset}",
        ),
    )
    router_url, base_url = f"http://127.0.0.1:{router_port}", f"http://127.0.0.1:{gateway_port}"
    try:
        router.start()
        wait_http(f"{router_url}/ready", router, within=120)
        gateway.start()
        wait_http(f"{base_url}/ready", gateway, within=120)
        yield Edge(router, gateway, router_url, base_url, proxy, namespace)
    finally:
        for process in (gateway, router):
            process.stop()
        if sys.exc_info()[0] is not None:
            for process in (router, gateway):
                sys.stderr.write(process.output()[-3_000:])
        proxy.close()


@pytest.fixture
async def stack_db(migrated_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(migrated_database_url)
    yield engine
    await engine.dispose()


async def test_router_kills_and_a_postgres_outage_lose_no_debit_and_double_none(
    stack: RunningStack, edge: Edge, stack_db: AsyncEngine, test_infra: LocalInfra, migrated_database_url: str
) -> None:
    await grant(stack, 50_000_000)
    load = Load(edge.base_url, stack.api_key)
    try:
        await eventually(lambda: load.one(0), within=30, interval=0.5, what="the grant to reach the gateway")
        load.outcomes = Outcomes()
        parts = [range(start, start + PART) for start in range(0, REQUESTS, PART)]
        for index, numbers in enumerate(parts):
            await _fault_during(load, numbers, edge, stack_db, index)  # the fifth part runs undisturbed
    finally:
        await load.close()
    answered, failed = load.outcomes.answered, load.outcomes.failed
    reasons = dict(load.outcomes.reasons)
    sys.stderr.write(f"router kills: {len(answered)} answered, {len(failed)} failed ({reasons})\n")

    events = await usage_events(test_infra.nats_url, edge.namespace, stack.user_id)
    completed = {e.request_id: e.cost_micros for e in events if isinstance(e, RequestCompletedV1)}

    async def drained() -> bool:
        return len(await debits_by_request(stack_db, stack.user_id)) >= len(completed)

    await eventually(drained, within=90, what="a debit for every completed event")
    debits = await debits_by_request(stack_db, stack.user_id)  # raises on a request id debited twice

    assert len(answered) + len(failed) == REQUESTS  # every request ended at the client
    assert len(answered) >= REQUESTS // 2  # the faults cut some, not most
    assert len(answered) == len(set(answered))
    per_request = Counter(e.request_id for e in events)
    assert max(per_request.values()) == 1  # one usage event per request: never completed and failed both
    missing = [rid for rid in answered if rid not in completed]
    assert missing == [], f"{len(missing)} answered requests have no completed event"
    assert {rid: debits[rid] for rid in answered} == {rid: completed[rid] for rid in answered}
    assert debits == completed  # cut requests: debited once (their event was stored) or not at all
    cut = [rid for rid in failed if rid]
    sys.stderr.write(f"cut with an id: {len(cut)}, of them debited: {sum(rid in debits for rid in cut)}\n")
    await assert_billing_verifies(
        service_env(
            "billing",
            database_url=migrated_database_url,
            nats_url=test_infra.nats_url,
            redis_url=test_infra.redis_url,
            namespace=edge.namespace,
        )
    )


async def grant(stack: RunningStack, amount_micros: int) -> None:
    """Credit straight at billing with a signed operator identity (the gateway's admin route is not under test)."""
    operator = Identity(request_id=f"grant-{stack.offset}", role="admin")
    headers = {**sign_identity(operator, DEV_SECRET.encode()), "idempotency-key": f"router-kills-{stack.offset}"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{8082 + stack.offset}", timeout=10) as client:
        answer = await client.post(
            f"/admin/v1/accounts/{stack.user_id}/grants",
            json={"amount_micros": amount_micros, "description": "router kills e2e"},
            headers=headers,
        )
    assert answer.status_code == 201, answer.text


async def _fault_during(load: Load, numbers: range, edge: Edge, db: AsyncEngine, index: int) -> None:
    """Feed one part; once it has ``PROGRESS`` answers, SIGKILL the router (parts 0-2) or cut Postgres (part 3)."""
    before = len(load.outcomes.answered)
    feeding = asyncio.create_task(load.part(numbers))
    if index > KILLS:
        await feeding  # the last part shows the recovery
        return

    async def progressed() -> bool:
        if feeding.done():
            feeding.result()
            outcomes = load.outcomes
            raise AssertionError(f"part {index} ended before its fault; failures: {dict(outcomes.reasons)}")
        return len(load.outcomes.answered) >= before + PROGRESS

    try:
        await eventually(progressed, within=120, what=f"{PROGRESS} answers before fault {index}")
        if index < KILLS:
            edge.router.kill()
            edge.router.start()  # same command and environment: what a supervisor does
            await eventually(lambda: _ready(edge.router_url), within=120, interval=0.2, what="the router back")
        else:
            await _postgres_outage(edge, db)
        await feeding
    except BaseException:
        feeding.cancel()
        raise


async def _ready(url: str) -> bool:
    async with httpx.AsyncClient(timeout=2) as client:
        try:
            return (await client.get(f"{url}/ready")).status_code == 200
        except httpx.HTTPError:
            return False


async def _postgres_outage(edge: Edge, db: AsyncEngine) -> None:
    """Every backend of the stack's database terminated, and this gateway and router cut off from it for 5 s."""
    edge.proxy.cut()
    async with db.connect() as conn:
        await conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    await asyncio.sleep(POSTGRES_DOWN_S)
    edge.proxy.restore()


async def usage_events(nats_url: str, namespace: str, user_id: str) -> list[RequestCompletedV1 | RequestFailedV1]:
    """Every usage event of the user on the ROUTER stream, duplicates included (the stream is the source)."""
    nc = await connect_nats(nats_url, "router-kills-e2e")
    try:
        ns = Namespace(namespace)
        config = ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE)
        sub = await nc.jetstream().pull_subscribe(
            ns.subject("router.request.>"), stream=ns.stream("ROUTER"), config=config
        )
        left = (await sub.consumer_info()).num_pending or 0
        events: list[RequestCompletedV1 | RequestFailedV1] = []
        while left > 0:
            batch = await sub.fetch(min(left, 1000), timeout=10)
            events += [UsageEvent.decode(msg.data) for msg in batch]
            left -= len(batch)
        await sub.unsubscribe()
    finally:
        await nc.close()
    return [e for e in events if e.user_id == user_id]
