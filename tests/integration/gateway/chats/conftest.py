"""Chat-history tests: a started gateway and two users, each with an API key (headers ready to send)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.gateway.conftest import ADMIN, Client

Headers = dict[str, str]


async def new_user_headers(client: Client, email: str) -> Headers:
    user = await client.post("/admin/v1/users", json={"email": email}, headers=ADMIN)
    assert user.status_code == 201, user.text
    key = await client.post(f"/admin/v1/users/{user.json()['id']}/api-keys", json={}, headers=ADMIN)
    assert key.status_code == 201, key.text
    return {"Authorization": f"Bearer {key.json()['key']}"}


@pytest.fixture
async def alice(client: Client) -> Headers:
    return await new_user_headers(client, "alice@example.com")


@pytest.fixture
async def bob(client: Client) -> Headers:
    return await new_user_headers(client, "bob@example.com")


async def create_session(client: Client, headers: Headers, **body: Any) -> dict[str, Any]:
    response = await client.post("/v1/chat/sessions", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def add_message(client: Client, headers: Headers, session_id: str, **body: Any) -> dict[str, Any]:
    body = {"role": "user", "content": "hello", **body}
    response = await client.post(f"/v1/chat/sessions/{session_id}/messages", json=body, headers=headers)
    assert response.status_code in {200, 201}, response.text
    return response.json()  # type: ignore[no-any-return]


def assert_error(response: Any, status: int, code: str | None = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    if code is not None:
        assert body["error"]["code"] == code, body
    assert "Traceback" not in response.text
