"""The event pipeline: publish usage events into a fresh namespace and time the three usage consumers' real workers."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg
from nats.aio.client import Client as NatsClient
from nats.errors import Error as NatsError
from nats.js import JetStreamContext

from tests.bench.infra import Infra, plain, purge, reset_database
from tests.bench.processes import ROOT, Child, Supervisor
from tests.bench.targets import PY
from tests.bench.ttft import percentile
from tollway.contracts import (
    ALL_BUCKETS,
    ALL_STREAMS,
    MSG_ID_HEADER,
    RequestCompletedV1,
    UserRegisteredV1,
    encode,
    subject_of,
)
from tollway.contracts.streams import ROUTER_STREAM
from tollway.platform.messaging import JetStreamPublisher, Namespace, connect_nats, provision

NAMESPACE = "benchevents"
DATABASE = "tollway_bench_events"
SERVICES = ("billing", "analytics", "error_monitor")
METHOD = (
    "nats-py publish_async straight onto ROUTER (the subject, payload and Nats-Msg-Id JetStreamPublisher writes), "
    "PubAcks awaited at the end, while the workers are stopped"
)
COUNT_SQL = {
    "billing": "SELECT count(*) FROM billing.transactions WHERE type = 'usage'",
    "analytics": "SELECT count(*) FROM analytics.requests",
    # error_monitor keeps no row per request: each served request is one attempt in its provider's minute
    "error_monitor": "SELECT coalesce(sum(attempts), 0) FROM error_monitor.provider_minutes",
}
FIRST_SQL = {  # when the first of a phase's events was written (its transaction's start)
    "billing": "SELECT min(created_at) FROM billing.transactions WHERE metadata->>'request_id' LIKE $1",
    "analytics": "SELECT min(received_at) FROM analytics.requests WHERE request_id LIKE $1",
    "error_monitor": "SELECT min(processed_at) FROM error_monitor.inbox WHERE event_id LIKE $1",
}
ROWS_SQL = {  # (event or request id, when it was written) for the services without a received_at beside occurred_at
    "billing": "SELECT metadata->>'request_id', created_at FROM billing.transactions WHERE type = 'usage'",
    "error_monitor": "SELECT event_id, processed_at FROM error_monitor.inbox WHERE event_id LIKE 'req_%'",
}
ANALYTICS_LAG_SQL = """
SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM received_at - occurred_at)),
       percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM received_at - occurred_at))
FROM analytics.requests WHERE request_id LIKE $1"""
BURST, PACED = "req_bench", "req_paced"  # request-id prefixes of the two phases
TICK_S = 0.01  # the paced phase publishes rate x TICK_S events every tick


@dataclass(frozen=True)
class PipelineConfig:
    infra: Infra
    events: int
    users: int = 20
    cost_micros: int = 100  # 7,500 events x $0.0001 stay well inside each user's $5 trial
    paced_events: int = 50_000
    paced_rate: int = 10_000  # events/s offered in the paced phase: the consumer target
    workers: int = 1  # worker processes per service, all on the same durable consumer
    ready_timeout_s: float = 60.0
    timeout_s: float = 120.0


@dataclass
class ConsumerResult:
    name: str
    status: str = "not available"  # ok | incomplete | not available
    processed: int = 0
    seconds: float | None = None
    events_per_s: float | None = None
    paced_lag_p50_ms: float | None = None
    paced_lag_p99_ms: float | None = None
    detail: str = ""


@dataclass
class PipelineResult:
    events: int
    method: str
    publish_s: float | None = None
    publish_per_s: float | None = None
    paced_events: int = 0
    paced_rate: int = 0
    workers: int = 1
    consumers: dict[str, ConsumerResult] = field(default_factory=dict)
    verify_status: str = "not run"
    verify_output: str = ""
    error: str | None = None


def service_env(service: str, config: PipelineConfig) -> dict[str, str]:
    prefix = service.upper() + "_"
    infra = config.infra
    values = {"DATABASE_URL": infra.database(DATABASE), "NATS_URL": infra.nats, "REDIS_URL": infra.redis}
    return {prefix + k: v for k, v in {**values, "NAMESPACE": NAMESPACE, "LOG_LEVEL": "WARNING"}.items()}


def role(service: str, name: str, config: PipelineConfig) -> subprocess.Popen[str]:
    """``python -m tollway.<service> <name>`` on the pipeline's database and namespace, output captured."""
    argv = [PY, "-m", f"tollway.{service}", name]
    env = {**os.environ, **service_env(service, config)}
    return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(process: subprocess.Popen[str], timeout_s: float) -> tuple[int, str]:
    """Exit code and output; a process over its time is killed (exit code -9)."""
    try:
        output, _ = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        return -9, output
    return process.returncode, output


def migrate(config: PipelineConfig) -> dict[str, str]:
    """Both services' migrations at once; what went wrong per service ('' when it went well)."""
    running = {service: role(service, "migrate", config) for service in SERVICES}
    outcome = {service: finish(process, 180) for service, process in running.items()}
    return {service: "" if code == 0 else tail(output) for service, (code, output) in outcome.items()}


def tail(text: str, lines: int = 3) -> str:
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])


def run(sup: Supervisor, config: PipelineConfig) -> PipelineResult:
    """Fresh database and namespace; warm the workers up, stop them, publish the backlog, time its drain, pace."""
    result = PipelineResult(
        events=config.events,
        method=METHOD,
        paced_events=config.paced_events,
        paced_rate=config.paced_rate,
        workers=config.workers,
    )
    result.consumers = {name: ConsumerResult(name) for name in SERVICES}
    asyncio.run(prepare(config))
    migrated = []
    for service, problem in migrate(config).items():
        if problem:
            result.consumers[service].detail = f"migrate failed: {problem}"
        else:
            migrated.append(service)
    started: list[Child] = []
    try:
        workers = start_workers(sup, migrated, config, started)
        live = asyncio.run(warm_up(config, workers, result)) if workers else []
        sup.stop(*started)  # the backlog goes in with nobody consuming: the drain measures the consumers alone
        published = bool(live) and asyncio.run(publish_backlog(config, result))
        if published:
            workers = start_workers(sup, live, config, started)
            asyncio.run(drain_and_pace(config, workers, live, result))
        if result.consumers["billing"].status != "not available":
            verify(config, result)
        else:
            result.verify_status = "not run (billing not available)"
    finally:
        sup.stop(*started)
        asyncio.run(purge(config.infra, NAMESPACE))
    return result


def start_workers(
    sup: Supervisor, services: list[str], config: PipelineConfig, started: list[Child]
) -> dict[str, Child]:
    """``config.workers`` worker processes per service on its one durable; the first of each is returned."""
    first: dict[str, Child] = {}
    for service in services:
        argv = [PY, "-m", f"tollway.{service}", "worker"]
        for _ in range(config.workers):
            child = sup.start(f"events-{service}-worker-{len(started)}", argv, service_env(service, config))
            started.append(child)
            first.setdefault(service, child)
    return first


async def prepare(config: PipelineConfig) -> None:
    await reset_database(config.infra.database(DATABASE))
    await purge(config.infra, NAMESPACE)


@asynccontextmanager
async def connections(config: PipelineConfig) -> AsyncIterator[tuple[asyncpg.Connection, NatsClient]]:
    conn = await asyncpg.connect(plain(config.infra.database(DATABASE)))
    nc = await connect_nats(config.infra.nats, "bench-pipeline")
    try:
        yield conn, nc
    finally:
        await nc.drain()
        await conn.close()


async def warm_up(config: PipelineConfig, workers: Mapping[str, Child], result: PipelineResult) -> list[str]:
    """Provision, register the users, and wait until each service's worker consumes; the services that do."""
    try:
        async with connections(config) as (conn, nc):
            await provision(nc.jetstream(), ALL_STREAMS, ALL_BUCKETS, Namespace(NAMESPACE))  # workers may still start
            publisher = JetStreamPublisher(nc.jetstream(), Namespace(NAMESPACE))
            await asyncio.gather(*(publisher.publish(UserRegisteredV1(user_id=user)) for user in users_of(config)))
            return await wait_ready(conn, nc, workers, config, result)
    except (OSError, asyncpg.PostgresError, TimeoutError, NatsError) as error:
        result.error = f"{type(error).__name__}: {error}"
        return []


def users_of(config: PipelineConfig) -> list[str]:
    return [f"usr_bench{i:03d}" for i in range(config.users)]


async def publish_backlog(config: PipelineConfig, result: PipelineResult) -> bool:
    try:
        async with connections(config) as (_, nc):
            started = time.monotonic()
            await publish_all(nc.jetstream(), users_of(config), config)
            result.publish_s = time.monotonic() - started
            result.publish_per_s = config.events / result.publish_s
            return True
    except (OSError, TimeoutError, NatsError) as error:
        result.error = f"publishing the backlog: {type(error).__name__}: {error}"
        return False


async def drain_and_pace(
    config: PipelineConfig, workers: Mapping[str, Child], services: list[str], result: PipelineResult
) -> None:
    """The drain of the backlog (throughput), then the paced phase (lag at the target rate)."""
    try:
        async with connections(config) as (conn, nc):
            await measure_drain(conn, services, config, result)
            if any(result.consumers[s].status == "ok" for s in services):
                await paced_phase(conn, nc.jetstream(), users_of(config), services, config, result)
    except (OSError, asyncpg.PostgresError, TimeoutError, NatsError) as error:
        result.error = f"{type(error).__name__}: {error}"
    for service, child in workers.items():
        if not child.alive():
            result.consumers[service].detail = f"worker exited: {child.tail(3)}"


async def wait_ready(
    conn: asyncpg.Connection,
    nc: NatsClient,
    workers: Mapping[str, Child],
    config: PipelineConfig,
    result: PipelineResult,
) -> list[str]:
    """The services whose worker is consuming: a durable on ROUTER, and (billing) every account opened."""
    deadline = time.monotonic() + config.ready_timeout_s
    pending = set(workers)
    while pending and time.monotonic() < deadline:
        stream = Namespace(NAMESPACE).stream(ROUTER_STREAM.name)
        durables = {c.name for c in await nc.jetstream().consumers_info(stream)}
        for service in list(pending):
            child = workers[service]
            if not child.alive():
                result.consumers[service].detail = f"worker exited: {child.tail(3)}"
                pending.discard(service)
            elif any(service in name for name in durables) and await _accounts_ready(conn, service, config.users):
                pending.discard(service)
        await asyncio.sleep(0.25)
    for service in pending:
        result.consumers[service].detail = f"worker not consuming after {config.ready_timeout_s:.0f}s"
    return [s for s in workers if workers[s].alive() and not result.consumers[s].detail]


async def _accounts_ready(conn: asyncpg.Connection, service: str, users: int) -> bool:
    if service != "billing":
        return True
    try:
        return bool(await conn.fetchval("SELECT count(*) FROM billing.accounts") >= users)
    except asyncpg.UndefinedTableError:
        return False


def usage_event(index: int, users: list[str], config: PipelineConfig, prefix: str = BURST) -> RequestCompletedV1:
    request_id = f"{prefix}{index:08d}"
    user = users[index % len(users)]
    return RequestCompletedV1(
        event_id=request_id,
        request_id=request_id,
        user_id=user,
        account_id=user,
        api_key_id=f"key_{user}",
        is_anonymous=False,
        requested_model="gpt-4o-mini",
        provider="fake-openai",
        upstream_model="fake-gpt-mini",
        is_fallback=False,
        attempts=1,
        prompt_tokens=12,
        completion_tokens=20,
        cost_micros=config.cost_micros,
        latency_ms=3,
    )


async def publish_all(js: JetStreamContext, users: list[str], config: PipelineConfig) -> dict[str, datetime]:
    """Publish every event without waiting for each PubAck (nats-py bounds what is pending); keep ``occurred_at``."""
    occurred: dict[str, datetime] = {}
    for index in range(config.events):
        await _publish(js, usage_event(index, users, config), occurred)
    await asyncio.wait_for(js.publish_async_completed(), timeout=config.timeout_s)
    return occurred


async def publish_paced(js: JetStreamContext, users: list[str], config: PipelineConfig) -> dict[str, datetime]:
    """``paced_events`` at ``paced_rate`` per second, a tick's worth every ``TICK_S``, each stamped when sent."""
    occurred: dict[str, datetime] = {}
    per_tick, started = max(1, round(config.paced_rate * TICK_S)), time.monotonic()
    for first in range(0, config.paced_events, per_tick):
        for index in range(first, min(first + per_tick, config.paced_events)):
            await _publish(js, usage_event(index, users, config, PACED), occurred)
        ahead = started + (first + per_tick) / config.paced_rate - time.monotonic()
        if ahead > 0:
            await asyncio.sleep(ahead)
    await asyncio.wait_for(js.publish_async_completed(), timeout=config.timeout_s)
    return occurred


async def _publish(js: JetStreamContext, event: RequestCompletedV1, occurred: dict[str, datetime]) -> None:
    occurred[event.request_id] = event.occurred_at
    subject = Namespace(NAMESPACE).subject(subject_of(event))
    await js.publish_async(subject, encode(event), headers={MSG_ID_HEADER: event.event_id})


async def measure_drain(
    conn: asyncpg.Connection, services: list[str], config: PipelineConfig, result: PipelineResult
) -> None:
    """Each consumer's rate over the backlog: from its first row's write to the moment its count was complete.

    The first row's timestamp (the transaction that wrote it) marks when consuming began, so the workers' start-up
    is not counted; the count is polled every 0.1 s.
    """
    finished = await watch_counts(conn, services, config.events, time.monotonic() + config.timeout_s)
    ended = datetime.now(UTC)
    for service in services:
        consumer = result.consumers[service]
        consumer.processed, done_at = finished[service]
        consumer.status = "ok" if done_at is not None else "incomplete"
        first = await conn.fetchval(FIRST_SQL[service], f"{BURST}%")
        if done_at is not None and first is not None:
            consumer.seconds = (ended - first).total_seconds() - (time.monotonic() - done_at)
            consumer.events_per_s = config.events / consumer.seconds


async def paced_phase(
    conn: asyncpg.Connection,
    js: JetStreamContext,
    users: list[str],
    services: list[str],
    config: PipelineConfig,
    result: PipelineResult,
) -> None:
    total = config.events + config.paced_events
    deadline = time.monotonic() + config.paced_events / config.paced_rate + config.timeout_s
    watcher = asyncio.create_task(watch_counts(conn, services, total, deadline))
    occurred = await publish_paced(js, users, config)
    finished = await watcher
    for service in services:
        consumer = result.consumers[service]
        consumer.processed = finished[service][0]
        if finished[service][1] is None:
            consumer.status = "incomplete"
        consumer.paced_lag_p50_ms, consumer.paced_lag_p99_ms = await lag(conn, service, occurred, PACED)


async def watch_counts(
    conn: asyncpg.Connection, services: list[str], events: int, deadline: float
) -> dict[str, tuple[int, float | None]]:
    """Poll each service's row count until it reaches ``events`` (or the deadline): (count, monotonic time done)."""
    state: dict[str, tuple[int, float | None]] = {service: (0, None) for service in services}
    while time.monotonic() < deadline and any(done is None for _, done in state.values()):
        for service, (_, done) in state.items():
            if done is None:
                count = await conn.fetchval(COUNT_SQL[service])
                state[service] = (count, time.monotonic() if count >= events else None)
        await asyncio.sleep(0.1)
    return state


async def lag(
    conn: asyncpg.Connection, service: str, occurred: dict[str, datetime], prefix: str
) -> tuple[float, float]:
    """p50 and p99 of (row written - event occurred_at) over one phase's events, in ms."""
    if service == "analytics":
        p50, p99 = await conn.fetchrow(ANALYTICS_LAG_SQL, f"{prefix}%")
        return float(p50 or 0) * 1000, float(p99 or 0) * 1000
    rows = await conn.fetch(ROWS_SQL[service])
    lags = [(row[1] - occurred[row[0]]).total_seconds() * 1000 for row in rows if row[0] in occurred]
    return percentile(lags, 0.5), percentile(lags, 0.99)


def verify(config: PipelineConfig, result: PipelineResult) -> None:
    """``python -m tollway.billing verify`` on the pipeline's database: its verdict and report."""
    code, output = finish(role("billing", "verify", config), 120)
    result.verify_output = output.strip()[-2000:]
    result.verify_status = {0: "passed", 1: "FAILED", -9: "timed out"}.get(code, f"not available (exit {code})")
