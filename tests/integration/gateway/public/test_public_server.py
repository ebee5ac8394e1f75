"""A real gateway process (granian): sync SDK clients, streaming as it arrives, disconnects cancel the router call."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import anthropic
import httpx2
import openai
import pytest
from nats.aio.client import Client as NatsClient
from nats.js.kv import KeyValue
from redis.asyncio import Redis

from tests.integration.gateway.conftest import ADMIN, ADMIN_KEY, PEPPER
from tests.integration.gateway.public.fakerouter import FakeRouter
from tests.integration.gateway.public.support import (
    USD,
    set_balance,
    until,
)
from tollway.gateway.settings import GatewaySettings
from tollway.platform.redis import RedisKeys
from tollway.testing.processes import ManagedProcess, free_port, service_env, service_process

HELLO = [{"role": "user", "content": "hi"}]


async def _counted(redis: Redis, key: str) -> int:
    return int(await redis.hget(key, "~total") or 0)


async def until_async(probe: Callable[[], Awaitable[int]], expected: int, timeout_s: float = 3.0) -> None:
    """Settlements run after the response: every request's hold must turn into exactly its reported cost."""
    deadline = time.monotonic() + timeout_s
    while (found := await probe()) != expected:
        assert time.monotonic() < deadline, f"counted {found}, expected {expected}"
        await asyncio.sleep(0.05)


class Served:
    def __init__(self, url: str, process: ManagedProcess) -> None:
        self.url, self.process = url, process

    async def account(self, kv: KeyValue) -> tuple[str, str]:
        async with httpx2.AsyncClient(base_url=self.url, headers=ADMIN) as admin:
            user = (await admin.post("/admin/v1/users", json={})).json()
            key = (await admin.post(f"/admin/v1/users/{user['id']}/api-keys", json={})).json()
        await set_balance(kv, user["id"], USD)
        await self._until_funded(key["key"])
        return user["id"], key["key"]

    async def _until_funded(self, key: str) -> None:
        """Wait for the process's balances watch to see the credit: its credit gate stops answering 402."""
        body = {"model": "fake-model", "messages": HELLO, "max_tokens": 1}
        deadline = time.monotonic() + 10
        async with httpx2.AsyncClient(base_url=self.url, headers={"x-api-key": key}) as client:
            while (await client.post("/v1/chat/completions", json=body)).status_code == 402:
                assert time.monotonic() < deadline, "the gateway never saw the account's credit"
                await asyncio.sleep(0.02)


@pytest.fixture
async def served(
    settings: GatewaySettings,
    fake_router: FakeRouter,
    nc: NatsClient,
    balances: KeyValue,
    gateway_redis_keys: RedisKeys,
) -> AsyncIterator[Served]:
    port = free_port()
    env = service_env(
        "gateway",
        database_url=settings.database_url,
        nats_url=settings.nats_url,
        redis_url=settings.redis_url,
        namespace=settings.namespace,
        port=str(port),
        admin_key=ADMIN_KEY,
        key_pepper=PEPPER,
        router_url=fake_router.url,
        log_level="INFO",
    )
    process = service_process("gateway", "serve", env).start()
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx2.AsyncClient(base_url=url) as probe:
            await _until_ready(probe, process)
        yield Served(url, process)
    finally:
        await asyncio.to_thread(process.stop)


async def _until_ready(probe: httpx2.AsyncClient, process: ManagedProcess) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert process.alive, process.output()
        try:
            if (await probe.get("/ready")).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError("the gateway process never became ready:\n" + process.output())


def _sync_calls(url: str, key: str) -> tuple[str, str, str, str]:
    # Every client closed: an open pool's sockets would surface as ResourceWarnings in some later test.
    with openai.OpenAI(base_url=f"{url}/v1", api_key=key) as client:
        plain = client.chat.completions.create(model="fake-model", messages=HELLO).choices[0].message.content or ""
        streamed = "".join(
            c.choices[0].delta.content or ""
            for c in client.chat.completions.create(model="fake-model", messages=HELLO, stream=True)
            if c.choices
        )
    with openai.OpenAI(base_url=f"{url}/ak/{key}/v1", api_key="unused") as by_path:
        path_answer = by_path.chat.completions.create(model="fm", messages=HELLO).choices[0].message.content or ""
    with (
        anthropic.Anthropic(base_url=url, api_key=key) as claude,
        claude.messages.stream(model="fake-model", max_tokens=16, messages=HELLO) as stream,
    ):
        anthropic_text = "".join(stream.text_stream)
    return plain, streamed, path_answer, anthropic_text


def _list_models_with_a_bad_key(url: str) -> None:
    with openai.OpenAI(base_url=f"{url}/v1", api_key="bad") as client:
        client.models.list()


async def test_sync_sdk_clients_through_a_real_server_and_no_key_in_its_logs(
    served: Served, balances: KeyValue
) -> None:
    _, key = await served.account(balances)
    plain, streamed, path_answer, anthropic_text = await asyncio.to_thread(_sync_calls, served.url, key)
    with pytest.raises(openai.AuthenticationError):
        await asyncio.to_thread(openai.OpenAI(base_url=f"{served.url}/v1", api_key="bad").models.list)

    assert plain == path_answer == "Hello from the fake router"
    assert streamed == anthropic_text == "w0 w1 w2 "
    output = served.process.output()
    assert "model catalogue loaded" in output  # it logs at INFO...
    assert key[3:] not in output  # ...and never the key, not even from the /ak/ path


async def test_chunks_arrive_as_they_come_and_a_disconnect_cancels_the_router_call(
    served: Served,
    balances: KeyValue,
    fake_router: FakeRouter,
) -> None:
    _, key = await served.account(balances)
    fake_router.chunks, fake_router.chunk_delay_s = 50, 0.1
    body = {"model": "fake-model", "messages": HELLO, "stream": True}
    async with httpx2.AsyncClient(base_url=served.url) as client:
        started = time.monotonic()
        async with client.stream("POST", "/v1/chat/completions", json=body, headers={"x-api-key": key}) as response:
            first = await anext(response.aiter_bytes())
            first_after = time.monotonic() - started
        # Leaving the block closed the connection after one chunk; the gateway must drop the router call.
        await until(lambda: fake_router.cancelled == 1, timeout_s=3)

    assert response.status_code == 200
    assert first.startswith(b"data: ")
    assert first_after < 1.0  # the whole stream takes 5 s: this chunk was relayed, not buffered
    assert "relaying" not in served.process.output()  # a client leaving is normal, not an error
