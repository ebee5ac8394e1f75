"""2,000 requests through the gateway while billing's, then analytics' worker is SIGKILLed three times each.

After the pipeline drains: one debit and one analytics row per completed request, to the micro-dollar, and
``billing verify`` passes. The stack runs as ``make run`` starts it, minus the two workers this test runs itself.
"""

from __future__ import annotations

import asyncio
import functools
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator

import anthropic
import httpx
import openai
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tollway.testing.infra import LocalInfra
from tollway.testing.processes import (
    ManagedProcess,
    assert_billing_verifies,
    eventually,
    kill_during_load,
    service_env,
    service_process,
)
from tollway.testing.recorded import analytics_rows, completed_events, debits
from tollway.testing.stack import RunningStack

pytestmark = [pytest.mark.slow]

REQUESTS = 2_000
PART = 250  # requests per part of the load; a kill lands inside every part but the last of each phase
CONCURRENCY = 16
HI = [{"role": "user", "content": "Say hello"}]


class Load:
    """The two SDK clients, and the request id of every answered request (the gateway's ``x-request-id``)."""

    def __init__(self, stack: RunningStack) -> None:
        self.openai = openai.AsyncOpenAI(base_url=f"{stack.base_url}/v1", api_key=stack.api_key, max_retries=0)
        self.anthropic = anthropic.AsyncAnthropic(base_url=stack.base_url, api_key=stack.api_key, max_retries=0)
        self.answered: list[str] = []

    async def one(self, i: int) -> None:
        """Plain and streamed OpenAI chat and Anthropic messages, in turn."""
        self.answered.append(await (self._chat, self._streamed_chat, self._messages)[i % 3]())

    async def _chat(self) -> str:
        raw = await self.openai.chat.completions.with_raw_response.create(
            model="gpt-4o-mini",
            messages=HI,  # type: ignore[arg-type]
            max_tokens=32,
        )
        assert raw.parse().choices[0].message.content  # openai's raw responses parse synchronously
        return raw.headers["x-request-id"]

    async def _streamed_chat(self) -> str:
        raw = await self.openai.chat.completions.with_raw_response.create(
            model="gpt-4o-mini",
            messages=HI,  # type: ignore[arg-type]
            max_tokens=32,
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [chunk async for chunk in raw.parse()]
        assert chunks[-1].usage is not None
        return raw.headers["x-request-id"]

    async def _messages(self) -> str:
        raw = await self.anthropic.messages.with_raw_response.create(
            model="claude-3-5-haiku",
            max_tokens=32,
            messages=HI,  # type: ignore[arg-type]
        )
        assert (await raw.parse()).content  # anthropic's do not
        return raw.headers["x-request-id"]

    async def part(self, numbers: range) -> None:
        pending = iter(numbers)

        async def lane() -> None:
            for i in pending:
                await self.one(i)

        await asyncio.gather(*(lane() for _ in range(CONCURRENCY)))

    def parts(self, numbers: range) -> list[Callable[[], Coroutine[None, None, None]]]:
        starts = range(numbers.start, numbers.stop, PART)
        return [functools.partial(self.part, range(start, min(start + PART, numbers.stop))) for start in starts]

    async def close(self) -> None:
        await self.openai.close()
        await self.anthropic.close()


@pytest.fixture(scope="module")
def stack(stack_without_workers: RunningStack) -> RunningStack:
    return stack_without_workers


@pytest.fixture(scope="module")
def worker_env(
    stack: RunningStack, migrated_database_url: str, test_infra: LocalInfra
) -> Callable[..., dict[str, str]]:
    def env(service: str, **extra: str) -> dict[str, str]:
        return service_env(
            service,
            database_url=migrated_database_url,
            nats_url=test_infra.nats_url,
            redis_url=test_infra.redis_url,
            namespace=f"stack{stack.offset}",
            **extra,
        )

    return env


@pytest.fixture
async def stack_db(migrated_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(migrated_database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def workers(worker_env: Callable[..., dict[str, str]]) -> Iterator[dict[str, ManagedProcess]]:
    """Billing's and analytics' workers with a short ack wait, so what a kill strands comes back in seconds."""
    started = {
        "billing": service_process(
            "billing", "worker", worker_env("billing", usage_ack_wait_s="3", usage_batch_size="100")
        ),
        "analytics": service_process(
            "analytics", "worker", worker_env("analytics", consumer_ack_wait_s="3", consumer_batch_size="100")
        ),
    }
    for process in started.values():
        process.start()
    yield started
    for process in started.values():
        process.stop()
    if sys.exc_info()[0] is not None:
        for process in started.values():
            sys.stderr.write(process.output()[-3_000:])


async def test_every_request_is_debited_and_recorded_exactly_once_across_worker_kills(
    stack: RunningStack,
    stack_db: AsyncEngine,
    workers: dict[str, ManagedProcess],
    worker_env: Callable[..., dict[str, str]],
    test_infra: LocalInfra,
) -> None:
    await grant(stack, 50_000_000)
    load = Load(stack)
    try:
        await eventually(lambda: _admitted(load), within=30, what="the grant to reach the gateway")
        user = stack.user_id
        workers["billing"] = await kill_during_load(
            workers["billing"], load.parts(range(0, REQUESTS // 2)), lambda: debit_count(stack_db, user), progress=100
        )
        workers["analytics"] = await kill_during_load(
            workers["analytics"],
            load.parts(range(REQUESTS // 2, REQUESTS)),
            lambda: row_count(stack_db, user),
            progress=100,
        )
    finally:
        await load.close()

    completed: dict[str, int] = {}

    async def drained() -> bool:
        completed.update(await completed_events(test_infra.nats_url, f"stack{stack.offset}", user))
        return len(completed) >= len(load.answered) and await _all_recorded(stack_db, user, len(completed))

    await eventually(drained, within=60, what="a debit and a row for every completed request")
    assert len(load.answered) == REQUESTS + 1  # the load and the one request that waited for the grant
    assert set(load.answered) == completed.keys()
    assert all(cost > 0 for cost in completed.values())
    debits, rows = await debits_by_request(stack_db, user), await rows_by_request(stack_db, user)
    assert debits == completed  # each request debited once (a duplicate id fails in _pairs), to the micro-dollar
    assert rows == completed  # and stored once, with the event's cost
    assert sum(debits.values()) == sum(rows.values()) == sum(completed.values())
    await assert_billing_verifies(worker_env("billing"))


async def grant(stack: RunningStack, amount_micros: int) -> None:
    """Credit through the gateway's admin route, as an operator would top an account up."""
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=10) as client:
        answer = await client.post(
            f"/admin/v1/accounts/{stack.user_id}/grants",
            json={"amount_micros": amount_micros, "description": "money path e2e"},
            headers={"authorization": f"Bearer {stack.admin_key}", "idempotency-key": f"e2e-{stack.offset}"},
        )
    assert answer.status_code == 201, answer.text


async def _admitted(load: Load) -> bool:
    try:
        await load.one(0)
    except openai.APIStatusError as exc:
        if exc.status_code not in (402, 503):  # no credit yet, or the catalogue not loaded yet
            raise
        return False
    return True


async def debits_by_request(engine: AsyncEngine, user_id: str) -> dict[str, int]:
    found = await debits(engine, user_id)
    assert found.duplicates == 0, "a request id is debited twice"
    return found.costs


async def rows_by_request(engine: AsyncEngine, user_id: str) -> dict[str, int]:
    found = await analytics_rows(engine, user_id)
    assert found.duplicates == 0, "a request id has two analytics rows"
    return found.costs


async def debit_count(engine: AsyncEngine, user_id: str) -> int:
    return len(await debits_by_request(engine, user_id))


async def row_count(engine: AsyncEngine, user_id: str) -> int:
    return len(await rows_by_request(engine, user_id))


async def _all_recorded(engine: AsyncEngine, user_id: str, completed: int) -> bool:
    return await debit_count(engine, user_id) == completed and await row_count(engine, user_id) == completed
