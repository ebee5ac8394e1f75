"""Helpers of the public-route tests: a started gateway and its SDK clients, accounts, balances, request bodies."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

import anthropic
import httpx2
import msgspec
import openai
from litestar import Litestar
from nats.js.kv import KeyValue

from tests.integration.gateway.conftest import ADMIN
from tollway.gateway.bootstrap import PublicServices

BASE = "http://gateway.test"
USD = 1_000_000


@dataclass
class Gateway:
    """One started gateway app (its lifespan runs in the test's loop) and clients that reach it in-process."""

    app: Litestar
    client: httpx2.AsyncClient

    @property
    def public(self) -> PublicServices:
        public: PublicServices = self.app.state.gateway.public
        return public

    def http(self) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(transport=httpx2.ASGITransport(app=self.app), base_url=BASE)

    def openai(self, key: str, **options: Any) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(base_url=f"{BASE}/v1", api_key=key, http_client=self.http(), **options)

    def anthropic(self, key: str, **options: Any) -> anthropic.AsyncAnthropic:
        return anthropic.AsyncAnthropic(base_url=BASE, api_key=key, http_client=self.http(), **options)


GatewayFactory = Callable[..., AbstractAsyncContextManager[Gateway]]


@dataclass
class Account:
    user_id: str
    key: str
    key_id: str


_versions = itertools.count(1)


async def set_balance(kv: KeyValue, user_id: str, micros: int) -> None:
    """What billing does: the account's balance under a higher version."""
    await kv.put(user_id, msgspec.json.encode({"balance_micros": micros, "version": next(_versions)}))


async def open_account(gateway: Gateway, kv: KeyValue | None = None, micros: int = 0) -> Account:
    user = (await gateway.client.post("/admin/v1/users", json={}, headers=ADMIN)).json()
    key = (await gateway.client.post(f"/admin/v1/users/{user['id']}/api-keys", json={}, headers=ADMIN)).json()
    if kv is not None:
        await set_balance(kv, user["id"], micros)
        await until(lambda: gateway.public.balances.balance_of(user["id"]) == micros)
    return Account(user_id=user["id"], key=key["key"], key_id=key["id"])


def chat_body(model: str = "fake-model", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "Say hello"}], **extra}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def until(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)
