"""The public routes through the official SDKs: answers, streams, and every error in the caller's own shape."""

from __future__ import annotations

import re

import anthropic
import openai
import pytest
from nats.js.kv import KeyValue

from tests.integration.gateway.public.fakerouter import FakeRouter
from tests.integration.gateway.public.support import (
    USD,
    GatewayFactory,
    bearer,
    chat_body,
    open_account,
)
from tollway.testing.processes import free_port

REQUEST_ID = re.compile(r"^req_[0-9A-Za-z]{24}$")
HELLO = [{"role": "user", "content": "Say hello"}]


async def test_openai_chat_plain_and_streamed(
    start_gateway: GatewayFactory, balances: KeyValue, fake_router: FakeRouter
) -> None:
    async with start_gateway(rpm=100, tpm=100_000) as gateway:
        account = await open_account(gateway, balances, 5 * USD)
        client = gateway.openai(account.key)
        raw = await client.chat.completions.with_raw_response.create(model="fake-model", messages=HELLO, max_tokens=50)
        completion = raw.parse()
        chunks = [c async for c in await client.chat.completions.create(model="fm", messages=HELLO, stream=True)]

    assert completion.choices[0].message.content == "Hello from the fake router"
    assert REQUEST_ID.match(raw.headers["x-request-id"])
    assert raw.headers["x-ratelimit-limit-requests"] == "100"
    assert raw.headers["x-ratelimit-remaining-requests"] == "99"
    assert raw.headers["x-ratelimit-limit-tokens"] == "100000"
    assert raw.headers["x-ratelimit-reset-requests"].endswith(("ms", "s"))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "w0 w1 w2 "
    assert chunks[-1].usage is not None
    forwarded = fake_router.calls[0]
    assert forwarded.identity.user_id == account.user_id == forwarded.identity.account_id
    assert forwarded.identity.api_key_id == account.key_id
    assert (forwarded.identity.role, forwarded.api) == ("user", "openai")
    assert forwarded.identity.request_id == raw.headers["x-request-id"] == forwarded.headers["x-request-id"]


async def test_anthropic_messages_plain_and_streamed(
    start_gateway: GatewayFactory, balances: KeyValue, fake_router: FakeRouter
) -> None:
    async with start_gateway() as gateway:
        account = await open_account(gateway, balances, 5 * USD)
        client = gateway.anthropic(account.key)
        message = await client.messages.create(model="fake-model", max_tokens=64, messages=HELLO)
        async with client.messages.stream(model="fake-model", max_tokens=64, messages=HELLO) as stream:
            text = "".join([t async for t in stream.text_stream])

    assert message.content[0].type == "text"
    assert message.usage.output_tokens == 7
    assert text == "w0 w1 w2 "
    assert {c.api for c in fake_router.calls} == {"anthropic"}


async def test_models_list_in_openai_shape_with_limits_and_prices(
    start_gateway: GatewayFactory, balances: KeyValue
) -> None:
    async with start_gateway() as gateway:
        account = await open_account(gateway)
        listed = [m.id async for m in gateway.openai(account.key).models.list()]
        raw = (await gateway.client.get("/v1/models", headers=bearer(account.key))).json()
        unauthenticated = await gateway.client.get("/v1/models")

    assert listed == ["fake-model", "fake-free"]
    first = raw["data"][0]
    assert (first["object"], first["context_window"], first["max_output_tokens"]) == ("model", 8192, 1024)
    assert first["pricing"] == {
        "input": 1_000_000,
        "output": 2_000_000,
        "cache_read": 100_000,
        "cache_write": 1_250_000,
    }
    assert unauthenticated.status_code == 401


async def test_bad_key_unknown_model_and_bad_bodies_map_to_the_sdk_errors(
    start_gateway: GatewayFactory, balances: KeyValue, fake_router: FakeRouter
) -> None:
    async with start_gateway() as gateway:
        account = await open_account(gateway, balances, USD)
        with pytest.raises(openai.AuthenticationError) as bad_key:
            await gateway.openai("tw_" + "x" * 46).chat.completions.create(model="fake-model", messages=HELLO)
        with pytest.raises(anthropic.AuthenticationError) as bad_key_anthropic:
            await gateway.anthropic("nope").messages.create(model="fake-model", max_tokens=5, messages=HELLO)
        with pytest.raises(openai.NotFoundError) as unknown:
            await gateway.openai(account.key).chat.completions.create(model="gpt-nope", messages=HELLO)
        with pytest.raises(anthropic.NotFoundError):
            await gateway.anthropic(account.key).messages.create(model="gpt-nope", max_tokens=5, messages=HELLO)
        with pytest.raises(openai.BadRequestError) as wrong_type:
            await gateway.openai(account.key).chat.completions.create(model="fake-model", messages=HELLO, max_tokens=0)
        malformed = await gateway.client.post(
            "/v1/chat/completions", content=b'{"model": "fake-model", "messages": [', headers=bearer(account.key)
        )
        no_messages = await gateway.client.post(
            "/v1/messages", json={"model": "fake-model"}, headers={"x-api-key": account.key}
        )

    assert bad_key.value.body == {
        "message": "invalid or revoked API key",
        "type": "authentication_error",
        "param": None,
        "code": "invalid_api_key",
    }
    assert bad_key_anthropic.value.body == {
        "type": "error",
        "error": {"type": "authentication_error", "message": "invalid or revoked API key"},
    }
    assert unknown.value.code == "model_not_found"
    assert (wrong_type.value.param, wrong_type.value.code) == ("max_tokens", "invalid_request")
    assert malformed.status_code == 400
    assert malformed.json()["error"]["message"] == "the request body is not valid JSON"
    assert no_messages.status_code == 400
    assert no_messages.json() == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "`messages` is required"},
    }
    assert fake_router.calls == []


async def test_zero_credit_is_402_and_the_router_never_hears_of_it(
    start_gateway: GatewayFactory, balances: KeyValue, fake_router: FakeRouter
) -> None:
    async with start_gateway() as gateway:
        broke = await open_account(gateway, balances, 0)
        never_funded = await open_account(gateway)
        with pytest.raises(openai.APIStatusError) as openai_refusal:
            await gateway.openai(broke.key, max_retries=0).chat.completions.create(model="fake-model", messages=HELLO)
        with pytest.raises(anthropic.PaymentRequiredError) as anthropic_refusal:
            await gateway.anthropic(never_funded.key).messages.create(model="fake-model", max_tokens=5, messages=HELLO)

    assert openai_refusal.value.status_code == 402
    assert openai_refusal.value.code == "insufficient_quota"
    assert anthropic_refusal.value.body["error"]["type"] == "billing_error"  # type: ignore[index]
    assert fake_router.calls == []


async def test_oversized_bodies_are_413_declared_or_streamed(
    start_gateway: GatewayFactory, balances: KeyValue, fake_router: FakeRouter
) -> None:
    async with start_gateway(max_body_bytes=1000) as gateway:
        account = await open_account(gateway, balances, USD)
        big = chat_body(padding="x" * 2000)
        declared = await gateway.client.post("/v1/chat/completions", json=big, headers=bearer(account.key))

        async def chunks():  # no content-length: the limit is enforced while reading
            for _ in range(4):
                yield b" " * 400

        async with gateway.http() as http:
            streamed = await http.post("/v1/messages", content=chunks(), headers={"x-api-key": account.key})

    assert declared.status_code == 413
    assert declared.json()["error"]["code"] == "request_too_large"
    assert streamed.status_code == 413
    assert streamed.json()["error"]["type"] == "request_too_large"
    assert fake_router.calls == []


async def test_router_errors_are_relayed_and_an_unreachable_router_is_a_503_to_retry(
    start_gateway: GatewayFactory, balances: KeyValue, fake_router: FakeRouter
) -> None:
    async with start_gateway() as gateway:
        account = await open_account(gateway, balances, USD)
        fake_router.status = 503
        with pytest.raises(openai.InternalServerError) as relayed:
            await gateway.openai(account.key, max_retries=0).chat.completions.create(model="fake-model", messages=HELLO)
        gateway.public.router._chat_url = f"http://127.0.0.1:{free_port()}/internal/v1/chat"
        unreachable = await gateway.client.post(
            "/v1/messages", json=chat_body(max_tokens=5), headers={"x-api-key": account.key}
        )
        get_chat = await gateway.client.get("/v1/chat/completions", headers=bearer(account.key))

    assert relayed.value.status_code == 503
    assert relayed.value.message.endswith("fake upstream 503")
    assert unreachable.status_code == 503  # a router restarting or scaling: the client should come back
    assert unreachable.headers["retry-after"] == "1"
    assert unreachable.json()["type"] == "error"
    assert get_chat.status_code == 405


async def test_anonymous_calls_only_when_enabled_and_only_for_open_models(
    start_gateway: GatewayFactory, fake_router: FakeRouter
) -> None:
    async with start_gateway() as closed:
        refused = await closed.client.post("/v1/chat/completions", json=chat_body("fake-free"))
    async with start_gateway(anonymous_enabled=True, anonymous_rpm=2) as gateway:
        allowed = await gateway.client.post("/v1/chat/completions", json=chat_body("fake-free"))
        paid = await gateway.client.post("/v1/chat/completions", json=chat_body("fake-model"))
        second = await gateway.client.post("/v1/chat/completions", json=chat_body("fake-free"))
        third = await gateway.client.post("/v1/chat/completions", json=chat_body("fake-free"))

    assert refused.status_code == 401
    assert (allowed.status_code, paid.status_code, second.status_code, third.status_code) == (200, 403, 200, 429)
    assert allowed.headers["x-ratelimit-limit-requests"] == "2"
    identity = fake_router.calls[0].identity
    assert (identity.role, identity.is_anonymous, identity.user_id, identity.api_key_id) == (
        "anonymous",
        True,
        None,
        None,
    )


async def test_trace_context_is_propagated_to_the_router(
    start_gateway: GatewayFactory, balances: KeyValue, fake_router: FakeRouter
) -> None:
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    async with start_gateway() as gateway:
        account = await open_account(gateway, balances, USD)
        headers = {**bearer(account.key), "traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"}
        response = await gateway.client.post("/v1/chat/completions", json=chat_body(), headers=headers)

    assert response.status_code == 200
    assert trace_id in fake_router.calls[0].headers["traceparent"]
