"""Every public inference route asks for the key's ``inference`` scope, as chat does: 403 in the route's own shape.

The routes are the gateway's own tables (the ones the e2e contract test compares its cases with), so a new
inference route is checked here without anyone adding it.
"""

from __future__ import annotations

import pytest
from nats.js.kv import KeyValue

from tests.integration.gateway.public.fakerouter import FakeRouter
from tests.integration.gateway.public.support import USD, Gateway, GatewayFactory, bearer, chat_body, set_balance, until
from tollway.gateway.api.inference_routes import INFERENCE_HOT_ROUTES
from tollway.gateway.api.public import HOT_ROUTES
from tollway.gateway.domain.native_envelopes import NATIVE_ROUTES

PASSWORD = "correct horse battery staple"
MODEL = "fake-model"
# The two model routes Litestar serves (``GET``), beside the hot routes' tables.
MODEL_ROUTES = ("/v1/models", "/v1/models/{model}")
ROUTES = sorted({*HOT_ROUTES, *INFERENCE_HOT_ROUTES, *NATIVE_ROUTES, *MODEL_ROUTES})


async def read_only_key(gateway: Gateway, balances: KeyValue) -> str:
    """A funded self-registered user's key with only the ``read`` scope."""
    body = {"email": "scoped@example.com", "password": PASSWORD}
    registered = (await gateway.client.post("/v1/auth/register", json=body)).json()
    user_id = registered["user"]["id"]
    await set_balance(balances, user_id, USD)
    await until(lambda: gateway.public.balances.balance_of(user_id) == USD)
    session = (await gateway.client.post("/v1/auth/login", json=body)).json()
    created = await gateway.client.post(
        "/v1/keys", json={"name": "reader", "scopes": ["read"]}, headers=bearer(session["access_token"])
    )
    assert created.status_code == 201, created.text
    return str(created.json()["key"])


def _request(route: str, key: str) -> dict[str, object]:
    """A request the route would serve for a key with the scope: the native key header, the body it expects."""
    path = route.replace("{model}", MODEL).replace("{modelId}", MODEL)
    native = NATIVE_ROUTES.get(route)
    if route in MODEL_ROUTES:
        return {"method": "GET", "url": path, "headers": bearer(key)}
    if native is not None and native.api == "gemini":
        body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
        url = f"{path}?alt=sse" if native.stream else path
        return {"method": "POST", "url": url, "json": body, "headers": {"x-goog-api-key": key}}
    if native is not None:
        body = {"messages": [{"role": "user", "content": [{"text": "hi"}]}]}
        return {"method": "POST", "url": path, "json": body, "headers": bearer(key)}
    return {
        "method": "POST",
        "url": path,
        "json": {**chat_body(MODEL, max_tokens=5), "input": "hi"},
        "headers": bearer(key),
    }


def _refusal_shape(route: str, reply: object) -> bool:
    body = reply.json()  # type: ignore[attr-defined]
    native = NATIVE_ROUTES.get(route)
    if route == "/v1/messages":
        return bool(body["type"] == "error" and body["error"]["type"] == "permission_error")
    if native is not None and native.api == "gemini":
        return bool(body["error"]["status"] == "PERMISSION_DENIED" and body["error"]["code"] == 403)
    if native is not None:
        headers = reply.headers  # type: ignore[attr-defined]
        return bool(headers["x-amzn-errortype"] == "AccessDeniedException" and body["message"])
    return bool(body["error"]["type"] == "permission_error" and body["error"]["code"] == "insufficient_scope")


@pytest.mark.parametrize("route", ROUTES)
async def test_a_key_without_the_inference_scope_is_refused_on_every_inference_route(
    start_gateway: GatewayFactory, balances: KeyValue, fake_router: FakeRouter, route: str
) -> None:
    async with start_gateway() as gateway:
        key = await read_only_key(gateway, balances)
        reply = await gateway.client.request(**_request(route, key))  # type: ignore[arg-type]

    assert reply.status_code == 403, reply.text
    assert _refusal_shape(route, reply), reply.text
    assert fake_router.calls == []  # refused before the router
