"""An operator sets a user's routing strategy through the admin API; the router gets it with the user's next calls."""

from __future__ import annotations

import asyncio
import time

from nats.js.kv import KeyValue

from tests.integration.gateway.conftest import ADMIN
from tests.integration.gateway.public.fakerouter import FakeRouter
from tests.integration.gateway.public.support import USD, Gateway, GatewayFactory, bearer, chat_body, open_account


async def _strategy_sent(gateway: Gateway, fake_router: FakeRouter, key: str) -> str:
    reply = await gateway.client.post("/v1/chat/completions", json=chat_body(), headers=bearer(key))
    assert reply.status_code == 200, reply.text
    return fake_router.calls[-1].identity.routing_strategy


async def test_an_operator_sets_bedrock_only_and_the_users_keys_carry_it(
    start_gateway: GatewayFactory, balances: KeyValue, fake_router: FakeRouter
) -> None:
    async with start_gateway() as gateway:
        account = await open_account(gateway, balances, USD)
        before = await _strategy_sent(gateway, fake_router, account.key)
        path = f"/admin/v1/users/{account.user_id}"
        changed = await gateway.client.patch(path, json={"routing_strategy": "bedrock_only"}, headers=ADMIN)
        unknown = await gateway.client.patch(path, json={"routing_strategy": "cheapest_please"}, headers=ADMIN)
        as_user = await gateway.client.patch(
            path, json={"routing_strategy": "primary_first"}, headers=bearer(account.key)
        )
        deadline = time.monotonic() + 10  # the key's cached identity is evicted by the key-updated event
        while (after := await _strategy_sent(gateway, fake_router, account.key)) != "bedrock_only":
            assert time.monotonic() < deadline, after
            await asyncio.sleep(0.05)
        detail = (await gateway.client.get(f"{path}/detail", headers=ADMIN)).json()

    assert before == "primary_first"
    assert changed.status_code == 200, changed.text
    assert changed.json()["routing_strategy"] == "bedrock_only"
    assert unknown.status_code == 422
    assert unknown.json()["error"]["param"] == "routing_strategy"
    assert as_user.status_code == 401
    assert detail["user"]["routing_strategy"] == "bedrock_only"
