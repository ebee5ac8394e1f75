"""The money path on ``make run REPLICAS=2``: two of every serve/worker/relay role, load through both gateways.

Every request is debited once and recorded once although two billing and two analytics workers share each
durable consumer, two relays drain each outbox and each gateway has its own caches; both routers served traffic.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import re
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.e2e.stack.test_money_path import (
    Load,
    completed_events,
    debits_by_request,
    grant,
    rows_by_request,
)
from tests.e2e.stack.test_money_path import _admitted as admitted
from tests.e2e.stack.test_money_path import _all_recorded as all_recorded
from tollway.testing.infra import LocalInfra
from tollway.testing.processes import assert_billing_verifies, eventually, service_env
from tollway.testing.stack import RunningStack, running_stack

pytestmark = [pytest.mark.slow]

REPLICAS = 2
PER_GATEWAY = 300
PORTS = {"gateway": 8080, "inference_router": 8081, "billing": 8082, "analytics": 8083, "error_monitor": 8084}
REPLICA_PORT_STEP = 100  # deploy/local/stack.py: replica r listens on its port + r * 100


@pytest.fixture(scope="module")
def replica_stack(
    migrated_database_url: str, test_infra: LocalInfra, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningStack]:
    with running_stack(
        database_url=migrated_database_url,
        nats_url=test_infra.nats_url,
        redis_url=test_infra.redis_url,
        run_dir=tmp_path_factory.mktemp("replica-stack"),
        args=("--replicas", str(REPLICAS)),
    ) as stack:
        yield stack


@pytest.fixture
async def stack_db(migrated_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(migrated_database_url)
    yield engine
    await engine.dispose()


def gateways(stack: RunningStack) -> list[RunningStack]:
    """The stack once per gateway replica (``TOLLWAY_BASE_URLS`` in ``.run/demo.env``), same key and user."""
    env = dict(line.split("=", 1) for line in (stack.run_dir / "demo.env").read_text().splitlines() if "=" in line)
    views = []
    for url in env["TOLLWAY_BASE_URLS"].split(","):
        view = copy.copy(stack)
        view.base_url = url
        views.append(view)
    return views


def replica_url(stack: RunningStack, service: str, replica: int) -> str:
    return f"http://127.0.0.1:{PORTS[service] + stack.offset + replica * REPLICA_PORT_STEP}"


def served(metrics: str) -> float:
    """Requests a router finished, from its ``tollway_router_requests_total`` samples."""
    samples = re.findall(r"^tollway_router_requests_total\{[^}]*\} ([0-9.e+]+)$", metrics, flags=re.MULTILINE)
    return sum(float(value) for value in samples)


async def test_two_replicas_of_every_role_debit_and_record_every_request_exactly_once(
    replica_stack: RunningStack, stack_db: AsyncEngine, migrated_database_url: str, test_infra: LocalInfra
) -> None:
    stack = replica_stack
    views = gateways(stack)
    async with httpx.AsyncClient(timeout=5) as client:
        ready = {
            (service, r): (await client.get(f"{replica_url(stack, service, r)}/ready")).status_code
            for service in PORTS
            for r in range(REPLICAS)
        }
    await grant(stack, 50_000_000)
    loads = [Load(view) for view in views]
    try:
        for load in loads:  # the grant reaches each gateway through its own watch of the balances bucket
            await eventually(functools.partial(admitted, load), within=30, what="the grant to reach every gateway")
        await asyncio.gather(*(load.part(range(PER_GATEWAY)) for load in loads))
    finally:
        for load in loads:
            await load.close()

    answered = [request_id for load in loads for request_id in load.answered]
    completed: dict[str, int] = {}

    async def drained() -> bool:
        completed.update(await completed_events(test_infra.nats_url, f"stack{stack.offset}", stack.user_id))
        return len(completed) >= len(answered) and await all_recorded(stack_db, stack.user_id, len(completed))

    await eventually(drained, within=90, what="a debit and a row for every completed request")
    debits, rows = await debits_by_request(stack_db, stack.user_id), await rows_by_request(stack_db, stack.user_id)
    async with httpx.AsyncClient(timeout=5) as client:
        routed = [
            served((await client.get(f"{replica_url(stack, 'inference_router', r)}/metrics")).text)
            for r in range(REPLICAS)
        ]

    assert len(views) == REPLICAS
    assert set(ready.values()) == {200}
    assert len(answered) == REPLICAS * (PER_GATEWAY + 1)  # the load and each gateway's first admitted request
    assert set(answered) == completed.keys()
    assert debits == completed  # one debit per request, to the micro-dollar (a duplicate fails in the helper)
    assert rows == completed
    assert all(count >= PER_GATEWAY for count in routed)  # gateway r forwards to router r: both served
    await assert_billing_verifies(
        service_env(
            "billing",
            database_url=migrated_database_url,
            nats_url=test_infra.nats_url,
            redis_url="",
            namespace=f"stack{stack.offset}",
        )
    )
