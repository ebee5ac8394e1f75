"""Every authenticated response carries the rate-limit headers; keys have limits by default; Anthropic's names too."""

from __future__ import annotations

import re

import anthropic
import httpx2
import pytest
from nats.js.kv import KeyValue

from tests.integration.gateway.public.support import (
    USD,
    GatewayFactory,
    bearer,
    chat_body,
    open_account,
    set_balance,
    until,
)
from tollway.gateway.limitbook import default_limits
from tollway.gateway.settings import GatewaySettings

OPENAI_NAMES = [
    f"x-ratelimit-{part}-{kind}" for kind in ("requests", "tokens") for part in ("limit", "remaining", "reset")
]
ANTHROPIC_NAMES = [
    f"anthropic-ratelimit-{kind}-{part}" for kind in ("requests", "tokens") for part in ("limit", "remaining", "reset")
]
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
HELLO = [{"role": "user", "content": "hi"}]


def _has_openai_headers(headers: object, name: str) -> None:
    for header in OPENAI_NAMES:
        assert header in headers, (name, header)  # type: ignore[operator]


async def test_every_authenticated_answer_has_the_headers_and_keys_have_default_limits(
    start_gateway: GatewayFactory, balances: KeyValue
) -> None:
    async with start_gateway() as gateway:
        account = await open_account(gateway, balances, 5 * USD)
        auth = bearer(account.key)
        answers = {
            "chat": await gateway.client.post("/v1/chat/completions", json=chat_body(), headers=auth),
            "stream": await gateway.client.post("/v1/chat/completions", json=chat_body(stream=True), headers=auth),
            "400 bad body": await gateway.client.post("/v1/chat/completions", content=b"{", headers=auth),
            "404 model": await gateway.client.post("/v1/chat/completions", json=chat_body("nope"), headers=auth),
            "models": await gateway.client.get("/v1/models", headers=auth),
            "key in path": await gateway.client.get(f"/ak/{account.key}/v1/models"),
            "account route": await gateway.client.get("/v1/credits/balance", headers=auth),
        }
        unauthenticated = await gateway.client.get("/v1/models")
        bad_key = await gateway.client.post("/v1/chat/completions", json=chat_body(), headers=bearer("tw_nope"))

    defaults = default_limits(GatewaySettings())
    for name, answer in answers.items():
        _has_openai_headers(answer.headers, name)
        assert answer.headers["x-ratelimit-limit-requests"] == str(defaults.rpm), name
        assert answer.headers["x-ratelimit-limit-tokens"] == str(defaults.tpm), name
    assert answers["400 bad body"].status_code == 400
    assert answers["404 model"].status_code == 404
    for answer in (unauthenticated, bad_key):
        assert answer.status_code == 401
        assert "x-ratelimit-limit-requests" not in answer.headers


async def test_peeks_charge_nothing_and_a_429_carries_the_headers(
    start_gateway: GatewayFactory, balances: KeyValue
) -> None:
    async with start_gateway(rpm=3) as gateway:  # one request back every 20 s: none comes back during the test
        account = await open_account(gateway, balances, 5 * USD)
        auth = bearer(account.key)

        async def chat() -> httpx2.Response:
            return await gateway.client.post("/v1/chat/completions", json=chat_body(), headers=auth)

        first = await chat()
        peeks = [await gateway.client.get("/v1/models", headers=auth) for _ in range(3)]
        second, third, refused = await chat(), await chat(), await chat()

    assert [a.status_code for a in (first, second, third, refused)] == [200, 200, 200, 429]
    remaining = [a.headers["x-ratelimit-remaining-requests"] for a in (first, *peeks, second, third, refused)]
    assert remaining == ["2", "2", "2", "2", "1", "0", "0"]
    _has_openai_headers(refused.headers, "429")
    assert refused.headers["x-ratelimit-limit-requests"] == "3"
    assert int(refused.headers["retry-after"]) >= 1


@pytest.mark.parametrize("stream", [False, True])
async def test_the_anthropic_route_also_sends_anthropic_names(
    start_gateway: GatewayFactory, balances: KeyValue, stream: bool
) -> None:
    async with start_gateway(rpm=50, tpm=90_000) as gateway:
        account = await open_account(gateway, balances, 5 * USD)
        client = gateway.anthropic(account.key)
        raw = await client.messages.with_raw_response.create(
            model="fake-model",
            max_tokens=16,
            messages=HELLO,  # type: ignore[arg-type]
            stream=stream,
        )
        bad = await gateway.client.post("/v1/messages", content=b"[", headers={"x-api-key": account.key})
        with pytest.raises(anthropic.NotFoundError) as missing:
            await client.messages.create(model="nope", max_tokens=16, messages=HELLO)  # type: ignore[arg-type]

    for headers in (raw.headers, bad.headers, missing.value.response.headers):
        for name in ANTHROPIC_NAMES:
            assert name in headers, name
        _has_openai_headers(headers, "anthropic")
        assert RFC3339.match(headers["anthropic-ratelimit-requests-reset"])
        assert headers["anthropic-ratelimit-requests-limit"] == "50"
        assert headers["anthropic-ratelimit-tokens-limit"] == "90000"
    assert bad.status_code == 400


async def test_a_session_caller_sees_its_users_windows(start_gateway: GatewayFactory, balances: KeyValue) -> None:
    async with start_gateway(rpm=3) as gateway:
        signup = {"email": "rl@example.com", "password": "correct horse battery staple"}
        await gateway.client.post("/v1/auth/register", json=signup)
        token = (await gateway.client.post("/v1/auth/login", json=signup)).json()["access_token"]
        key = (await gateway.client.post("/v1/keys", json={"name": "k"}, headers=bearer(token))).json()["key"]
        user_id = (await gateway.client.get("/v1/me", headers=bearer(token))).json()["id"]
        await set_balance(balances, user_id, 5 * USD)
        await until(lambda: gateway.public.balances.balance_of(user_id) == 5 * USD)
        await gateway.client.get("/v1/models", headers=bearer(key))  # a peek: charges nothing
        chat = await gateway.client.post("/v1/chat/completions", json=chat_body(), headers=bearer(key))
        me = await gateway.client.get("/v1/me", headers=bearer(token))
        forged = await gateway.client.get("/v1/me", headers=bearer(token[:-4] + "AAAA"))

    assert (chat.status_code, me.status_code) == (200, 200), me.text
    _has_openai_headers(me.headers, "session")
    assert (me.headers["x-ratelimit-limit-requests"], me.headers["x-ratelimit-remaining-requests"]) == ("3", "2")
    assert forged.status_code == 401
    assert "x-ratelimit-limit-requests" not in forged.headers
