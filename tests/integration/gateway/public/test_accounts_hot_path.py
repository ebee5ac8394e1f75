"""Key attributes on the hot path (ADR 009): scopes, IP allowlists and allowed models, from the cache, via the SDK."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import openai
import pytest
from nats.js.kv import KeyValue

from tests.integration.gateway.conftest import QueryCounter
from tests.integration.gateway.public.support import USD, Gateway, GatewayFactory, bearer, chat_body, set_balance, until

PASSWORD = "correct horse battery staple"


async def signed_up(gateway: Gateway, kv: KeyValue) -> tuple[str, dict[str, str]]:
    """A self-registered user with credit, and the headers of a fresh session."""
    body = {"email": "ada@example.com", "password": PASSWORD}
    registered = (await gateway.client.post("/v1/auth/register", json=body)).json()
    user_id = registered["user"]["id"]
    await set_balance(kv, user_id, USD)
    await until(lambda: gateway.public.balances.balance_of(user_id) == USD)
    session = (await gateway.client.post("/v1/auth/login", json=body)).json()
    return registered["api_key"]["key"], bearer(session["access_token"])


async def make_key(gateway: Gateway, headers: dict[str, str], **settings: Any) -> dict[str, Any]:
    created = await gateway.client.post("/v1/keys", json={"name": "t", **settings}, headers=headers)
    assert created.status_code == 201, created.text
    return created.json()  # type: ignore[no-any-return]


async def test_the_sdk_works_with_a_self_service_key_and_scopes_are_enforced(
    start_gateway: GatewayFactory, balances: KeyValue
) -> None:
    async with start_gateway() as gateway:
        first_key, session = await signed_up(gateway, balances)
        answer = await gateway.openai(first_key).chat.completions.create(
            model="fake-model", messages=[{"role": "user", "content": "hi"}]
        )
        assert answer.choices[0].message.content

        read_only = await make_key(gateway, session, scopes=["read"])
        with pytest.raises(openai.PermissionDeniedError) as refused:
            await gateway.openai(read_only["key"]).chat.completions.create(
                model="fake-model", messages=[{"role": "user", "content": "hi"}]
            )
        assert refused.value.code == "insufficient_scope"
        messages = await gateway.client.post(
            "/v1/messages", json=chat_body(max_tokens=5), headers=bearer(read_only["key"])
        )
        assert messages.status_code == 403
        assert messages.json()["type"] == "error"

        inference = await make_key(gateway, session, scopes=["inference"])
        ok = await gateway.client.post("/v1/chat/completions", json=chat_body(), headers=bearer(inference["key"]))
        assert ok.status_code == 200
        for method, path in (
            ("GET", "/v1/keys"),
            ("POST", "/v1/keys"),
            ("GET", "/v1/me"),
            ("GET", "/v1/credits/balance"),
        ):
            response = await gateway.client.request(
                method, path, json={} if method == "POST" else None, headers=bearer(inference["key"])
            )
            assert response.status_code == 403, (method, path, response.text)


async def test_ip_allowlist_and_allowed_models_are_checked_without_a_query_on_a_warm_key(
    start_gateway: GatewayFactory, balances: KeyValue
) -> None:
    async with start_gateway(limits_refresh_s=600) as gateway:  # no override reloads while queries are counted
        _, session = await signed_up(gateway, balances)
        # The in-process client connects from 127.0.0.1.
        elsewhere = await make_key(gateway, session, ip_allowlist=["10.0.0.0/8"])
        refused = await gateway.client.post("/v1/chat/completions", json=chat_body(), headers=bearer(elsewhere["key"]))
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "address_not_allowed"

        here = await make_key(gateway, session, ip_allowlist=["127.0.0.0/8", "::1/128"], allowed_models=["fake-model"])
        other_model = await make_key(gateway, session, allowed_models=["another-model"])
        denied = await gateway.client.post("/v1/chat/completions", json=chat_body(), headers=bearer(other_model["key"]))
        assert denied.status_code == 403
        assert denied.json()["error"]["code"] == "model_not_allowed_for_key"

        cold = await gateway.client.post(
            "/v1/chat/completions", json=chat_body(model="fm"), headers=bearer(here["key"])
        )
        assert cold.status_code == 200  # by alias: the allow-list names the model, not the spelling
        queries = QueryCounter(gateway.app.state.infra.require_engine())
        for _ in range(5):
            warm = await gateway.client.post("/v1/chat/completions", json=chat_body(), headers=bearer(here["key"]))
            assert warm.status_code == 200
        assert queries.count == 0


async def test_a_key_change_reaches_the_cache_at_once(start_gateway: GatewayFactory, balances: KeyValue) -> None:
    async with start_gateway() as gateway, start_gateway() as other_replica:
        _, session = await signed_up(gateway, balances)
        key = await make_key(gateway, session)
        me = (await gateway.client.get("/v1/me", headers=session)).json()
        await until(lambda: other_replica.public.balances.balance_of(me["id"]) == USD)
        for replica in (gateway, other_replica):
            warm = await replica.client.post("/v1/chat/completions", json=chat_body(), headers=bearer(key["key"]))
            assert warm.status_code == 200
        patched = await gateway.client.patch(f"/v1/keys/{key['id']}", json={"scopes": ["read"]}, headers=session)
        assert patched.status_code == 200

        async def refused_on_the_other_replica() -> bool:
            response = await other_replica.client.post(
                "/v1/chat/completions", json=chat_body(), headers=bearer(key["key"])
            )
            return response.status_code == 403

        assert await _eventually(refused_on_the_other_replica, 1.0)


async def _eventually(check: Callable[[], Awaitable[bool]], within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.05)
    return False
