"""The stack on a 3-node JetStream cluster with R3 streams: SIGKILL the usage stream's leader under SDK load.

Every process gets all three node URLs; streams and the balances bucket are provisioned with three copies
(``<SERVICE>_NATS_REPLICAS=3``). The leader of the namespace's ROUTER stream is killed once debits are flowing and
stays dead: JetStream elects a new leader from the two survivors, clients on the dead node fail over, relays
republish what they could not confirm. Afterwards: one debit and one analytics row per completed request.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from nats.aio.client import Client as NatsClient
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import StreamInfo
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.e2e.scale.clusters import LocalNatsCluster
from tests.e2e.stack.test_money_path import (
    Load,
    completed_events,
    debit_count,
    debits_by_request,
    grant,
    row_count,
    rows_by_request,
)
from tests.e2e.stack.test_money_path import _admitted as admitted
from tests.e2e.stack.test_money_path import _all_recorded as all_recorded
from tollway.contracts import ALL_BUCKETS, ALL_STREAMS
from tollway.contracts.streams import BALANCES_BUCKET, ROUTER_STREAM
from tollway.platform.messaging import Namespace, connect_nats, provision
from tollway.testing.infra import LocalInfra
from tollway.testing.processes import assert_billing_verifies, eventually, service_env
from tollway.testing.stack import RunningStack, running_stack

pytestmark = [pytest.mark.slow]

BEFORE_KILL = 200  # requests, then the kill lands once 50 more debits are in
AFTER_KILL = 400
REPLICAS = "3"
# Short ack waits so what a dead node stranded is redelivered in seconds (the defaults are tens of seconds).
STACK_ENV = {
    "TOLLWAY_NATS_REPLICAS": REPLICAS,  # what stack.py hands every process as <SERVICE>_NATS_REPLICAS
    "BILLING_USAGE_ACK_WAIT_S": "3",
    "ANALYTICS_CONSUMER_ACK_WAIT_S": "3",
}


@pytest.fixture(scope="module")
def nats_cluster() -> Iterator[LocalNatsCluster]:
    cluster = LocalNatsCluster().start()
    yield cluster
    cluster.close()


@pytest.fixture(scope="module")
def cluster_stack(
    nats_cluster: LocalNatsCluster,
    migrated_database_url: str,
    test_infra: LocalInfra,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningStack]:
    with running_stack(
        database_url=migrated_database_url,
        nats_url=nats_cluster.url,
        redis_url=test_infra.redis_url,
        run_dir=tmp_path_factory.mktemp("nats-cluster-stack"),
        env=STACK_ENV,
    ) as stack:
        try:
            yield stack
        finally:
            nats_cluster.revive()  # the namespace purge afterwards deletes R3 streams: every peer should answer


@pytest.fixture
async def cluster_nc(nats_cluster: LocalNatsCluster) -> AsyncIterator[NatsClient]:
    client = await connect_nats(nats_cluster.url, "tests")
    yield client
    await client.drain()


@pytest.fixture
async def stack_db(migrated_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(migrated_database_url)
    yield engine
    await engine.dispose()


async def test_provisioning_makes_three_copies_and_scales_an_existing_single_copy(
    nats_cluster: LocalNatsCluster, cluster_nc: NatsClient
) -> None:
    ns = Namespace("provision3")
    js = cluster_nc.jetstream()
    await provision(js, ALL_STREAMS, ALL_BUCKETS, ns)  # no count: one copy, as on a single server
    single = (await js.stream_info(ns.stream(ROUTER_STREAM.name))).config.num_replicas
    await provision(js, ALL_STREAMS, ALL_BUCKETS, ns, replicas=3)
    await provision(js, ALL_STREAMS, ALL_BUCKETS, ns)  # a consumer's declaration must not scale it back down
    router = await _led(js, ns.stream(ROUTER_STREAM.name))
    bucket = await _led(js, f"KV_{ns.bucket(BALANCES_BUCKET.bucket)}")
    for name in [ns.stream(s.name) for s in ALL_STREAMS] + [f"KV_{ns.bucket(b.bucket)}" for b in ALL_BUCKETS]:
        await js.delete_stream(name)

    assert single == 1
    assert (router.config.num_replicas, bucket.config.num_replicas) == (3, 3)
    assert router.cluster is not None
    assert router.cluster.leader is not None


async def test_killing_the_usage_streams_leader_loses_and_duplicates_nothing(
    nats_cluster: LocalNatsCluster,
    cluster_stack: RunningStack,
    cluster_nc: NatsClient,
    stack_db: AsyncEngine,
    migrated_database_url: str,
) -> None:
    stack = cluster_stack
    ns = Namespace(f"stack{stack.offset}")
    js = cluster_nc.jetstream()
    streams = {s.name: await js.stream_info(ns.stream(s.name)) for s in ALL_STREAMS}
    assert {name: info.config.num_replicas for name, info in streams.items()} == {s.name: 3 for s in ALL_STREAMS}
    await grant(stack, 50_000_000)
    load = Load(stack)
    try:
        await eventually(lambda: admitted(load), within=30, what="the grant to reach the gateway")
        await load.part(range(BEFORE_KILL))
        leader = streams["ROUTER"].cluster.leader if streams["ROUTER"].cluster else None
        victim = int((leader or "n0").removeprefix("n"))
        floor = await debit_count(stack_db, stack.user_id) + 50
        feeding = asyncio.create_task(load.part(range(BEFORE_KILL, BEFORE_KILL + AFTER_KILL)))
        await eventually(lambda: _at_least(stack_db, stack.user_id, floor, feeding), within=60, what="debits")
        nats_cluster.kill(victim)
        await feeding
    finally:
        await load.close()

    completed: dict[str, int] = {}

    async def drained() -> bool:
        try:
            completed.update(await completed_events(nats_cluster.url, ns.prefix, stack.user_id))
        except NatsTimeoutError:
            return False  # the JetStream API may time out while the two survivors settle after the kill
        return len(completed) >= len(load.answered) and await all_recorded(stack_db, stack.user_id, len(completed))

    try:
        await eventually(drained, within=90, what="a debit and a row for every completed request")
    except AssertionError as exc:
        counts = f"{len(load.answered)} answered, {len(completed)} completed events, "
        counts += (
            f"{await debit_count(stack_db, stack.user_id)} debits, {await row_count(stack_db, stack.user_id)} rows"
        )
        raise AssertionError(f"{exc}: {counts}\n{nats_cluster.report()}\n{_problems(stack.log)}") from None
    new_leader = (await js.stream_info(ns.stream("ROUTER"))).cluster
    debits, rows = await debits_by_request(stack_db, stack.user_id), await rows_by_request(stack_db, stack.user_id)

    assert all(s.config.num_replicas == 3 for s in streams.values())
    assert leader is not None
    assert new_leader is not None
    assert new_leader.leader not in (None, leader)  # the survivors elected another leader
    assert len(load.answered) == BEFORE_KILL + AFTER_KILL + 1  # and the request that waited for the grant
    assert set(load.answered) == completed.keys()
    assert debits == completed  # 0 lost, 0 duplicated (a repeated request id fails in the query helper)
    assert rows == completed
    await assert_billing_verifies(
        service_env(
            "billing",
            database_url=migrated_database_url,
            nats_url=nats_cluster.url,
            redis_url="",
            namespace=ns.prefix,
        )
    )


def _problems(log: Path, keep: int = 60) -> str:
    """The stack log's warnings and errors, without the expected reconnect noise of a killed node."""
    noise = ("nats disconnected", "nats reconnected", "Connect call failed")
    lines = [
        line
        for line in log.read_text().splitlines()
        if ("warn" in line or "error" in line) and not any(n in line for n in noise)
    ]
    return "\n".join(line[:300] for line in lines[-keep:])


async def _led(js: JetStreamContext, stream: str, within: float = 30.0) -> StreamInfo:
    """The stream's info once its (re)placed replicas have elected a leader: a scale-up starts without one."""
    infos: list[StreamInfo] = []

    async def elected() -> bool:
        infos.append(await js.stream_info(stream))
        return infos[-1].cluster is not None and infos[-1].cluster.leader is not None

    await eventually(elected, within=within, what=f"a leader for {stream}")
    return infos[-1]


async def _at_least(engine: AsyncEngine, user_id: str, floor: int, load: asyncio.Task[None]) -> bool:
    if load.done():
        load.result()  # a failed load ends the wait with its own error
    return await debit_count(engine, user_id) >= floor
