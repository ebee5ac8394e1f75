"""Litestar routes answer undecodable JSON bodies (invalid UTF-8, deep nesting) with 400, not 500."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar, post
from litestar.params import JSONBody
from litestar.testing import TestClient

from tollway.platform.json_request import JsonSafeRequest


@post("/echo")
async def echo(data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
    return data


@pytest.mark.parametrize(
    "body",
    [
        b'{"a":"\xff"}',
        b'{"a":' + b"[" * 10_000 + b"]" * 10_000 + b"}",
        b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
    ],
    ids=["invalid utf-8", "nested arrays", "nested objects"],
)
def test_undecodable_json_is_400(body: bytes) -> None:
    app = Litestar([echo], request_class=JsonSafeRequest)
    with TestClient(app) as client:
        reply = client.post("/echo", content=body, headers={"content-type": "application/json"})
    assert reply.status_code == 400
    assert "JSON" in reply.json()["detail"] or "nested" in reply.json()["detail"]


def test_valid_json_still_decodes() -> None:
    with TestClient(Litestar([echo], request_class=JsonSafeRequest)) as client:
        assert client.post("/echo", json={"a": [1, {"b": "é"}]}).json() == {"a": [1, {"b": "é"}]}
