"""Bodies that make a JSON decoder raise something other than its validation error get a 400 in the route's shape."""

from __future__ import annotations

from typing import Any

import pytest
from nats.js.kv import KeyValue

from tests.integration.gateway.conftest import ADMIN
from tests.integration.gateway.public.fakerouter import FakeRouter
from tests.integration.gateway.public.support import USD, GatewayFactory, bearer, open_account

DEPTH = 10_000


def _nested(depth: int = DEPTH) -> bytes:
    return b"[" * depth + b"]" * depth


def _nested_objects(depth: int = DEPTH) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


# Each is a whole request body; none is a valid chat request.
MALFORMED: dict[str, bytes] = {
    "invalid utf-8 in model": b'{"model":"\xff\xfe","messages":[],"max_tokens":5}',
    "invalid utf-8 in a message": b'{"model":"fake-model","messages":[{"role":"user","content":"\xc3("}]}',
    "invalid utf-8 outside strings": b'{"model":"fake-model",\xff"messages":[]}',
    "nested at the top level": _nested(),
    "nested objects at the top level": _nested_objects(),
    "nested inside messages": b'{"model":"fake-model","messages":[' + _nested() + b"]}",
    "nested inside an unknown field": b'{"model":"fake-model","messages":[],"metadata":' + _nested_objects() + b"}",
    "lone surrogate escape": b'{"model":"\\ud800","messages":[]}',
    "huge integer": b'{"model":"fake-model","messages":[],"max_tokens":' + b"9" * 5000 + b"}",
    "huge float": b'{"model":"fake-model","messages":[],"max_tokens":1e999}',
    "NaN": b'{"model":"fake-model","messages":[],"temperature":NaN}',
    "truncated": b'{"model":"fake-model","messages":[',
    "empty": b"",
    "not an object": b'"hello"',
    "trailing garbage": b'{"model":"fake-model","messages":[]} {}',
    "bom": b'\xef\xbb\xbf{"model":"fake-model","messages":[]}',
    "nul byte": b'{"model":"fake-model","messages":[]}\x00',
}


def _assert_openai_error(status: int, body: Any) -> None:
    assert status == 400, body
    error = body["error"]
    assert isinstance(error["message"], str)
    assert error["message"]
    assert error["type"] == "invalid_request_error"
    assert {"param", "code"} <= set(error)


def _assert_anthropic_error(status: int, body: Any) -> None:
    assert status == 400, body
    assert body["type"] == "error"
    assert body["error"]["type"] == "invalid_request_error"
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]


async def test_malformed_chat_bodies_are_400_in_each_api_shape(
    start_gateway: GatewayFactory, balances: KeyValue, fake_router: FakeRouter
) -> None:
    async with start_gateway(rpm=10_000, tpm=100_000_000) as gateway:
        account = await open_account(gateway, balances, 5 * USD)
        headers = {**bearer(account.key), "content-type": "application/json"}
        for name, body in MALFORMED.items():
            openai_reply = await gateway.client.post("/v1/chat/completions", content=body, headers=headers)
            anthropic_reply = await gateway.client.post(f"/ak/{account.key}/v1/messages", content=body)
            assert openai_reply.headers["content-type"] == "application/json", name
            _assert_openai_error(openai_reply.status_code, openai_reply.json())
            _assert_anthropic_error(anthropic_reply.status_code, anthropic_reply.json())
    # The gateway reads the envelope itself; the router hears of none of these.
    assert fake_router.calls == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/admin/v1/users"),
        ("PUT", "/admin/v1/users/usr_missing/rate-limits"),
    ],
)
async def test_malformed_admin_bodies_are_400_in_openai_shape(
    start_gateway: GatewayFactory, method: str, path: str
) -> None:
    async with start_gateway(wait_ready=False) as gateway:
        for name, body in MALFORMED.items():
            reply = await gateway.client.request(
                method, path, content=body, headers={**ADMIN, "content-type": "application/json"}
            )
            assert reply.status_code == 400, (name, reply.status_code, reply.text)
            assert isinstance(reply.json()["error"]["message"], str), name


async def test_malformed_bodies_on_every_other_hot_route_are_400_in_openai_shape(
    start_gateway: GatewayFactory, balances: KeyValue, fake_router: FakeRouter
) -> None:
    async with start_gateway(rpm=10_000, tpm=100_000_000) as gateway:
        account = await open_account(gateway, balances, 5 * USD)
        headers = {**bearer(account.key), "content-type": "application/json"}
        paths = [p for p in gateway.app.asgi_handler._app.paths if p not in ("/v1/chat/completions", "/v1/messages")]  # type: ignore[attr-defined]
        for path in paths:
            for name, body in MALFORMED.items():
                reply = await gateway.client.post(path, content=body, headers=headers)
                assert reply.status_code == 400, (path, name, reply.text)
                assert isinstance(reply.json()["error"]["message"], str), (path, name)
    assert fake_router.calls == []
