"""Authorization sweeps over every chat route: no key is 401, another user's objects are 404, extra fields 422."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.gateway.chats.conftest import Headers, add_message, assert_error, create_session
from tests.integration.gateway.conftest import Client

SID, MID, FID = "{session}", "{message}", "{feedback}"

# (method, path, body): every chat-history route, with placeholders for Alice's objects.
ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/v1/chat/sessions", None),
    ("POST", "/v1/chat/sessions", {}),
    ("GET", f"/v1/chat/sessions/{SID}", None),
    ("PUT", f"/v1/chat/sessions/{SID}", {"title": "mine now"}),
    ("DELETE", f"/v1/chat/sessions/{SID}", None),
    ("GET", f"/v1/chat/sessions/{SID}/messages", None),
    ("POST", f"/v1/chat/sessions/{SID}/messages", {"role": "user", "content": "x"}),
    ("POST", f"/v1/chat/sessions/{SID}/messages/batch", {"messages": [{"role": "user", "content": "x"}]}),
    ("GET", f"/v1/chat/sessions/{SID}/feedback", None),
    ("POST", "/v1/chat/search", {"query": "secret"}),
    ("GET", "/v1/chat/stats", None),
    ("GET", "/v1/chat/feedback", None),
    ("POST", "/v1/chat/feedback", {"feedback_type": "thumbs_up", "message_id": MID}),
    ("GET", "/v1/chat/feedback/stats", None),
    ("PUT", f"/v1/chat/feedback/{FID}", {"rating": 1}),
    ("DELETE", f"/v1/chat/feedback/{FID}", None),
]
OBJECT_ROUTES = [route for route in ROUTES if "{" in route[1] or (route[2] and MID in route[2].values())]
BODY_ROUTES = [route for route in ROUTES if route[2] is not None]


class AliceData:
    def __init__(self, session: str, message: str, feedback: str) -> None:
        self.names = {SID: session, MID: message, FID: feedback}

    def fill(self, value: Any) -> Any:
        if isinstance(value, str):
            for placeholder, real in self.names.items():
                value = value.replace(placeholder, real)
            return value
        if isinstance(value, dict):
            return {k: self.fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.fill(v) for v in value]
        return value


@pytest.fixture
async def alices(client: Client, alice: Headers) -> AliceData:
    session = await create_session(client, alice, title="secret plans")
    message = await add_message(client, alice, session["id"], content="the secret is 42")
    feedback = await client.post(
        "/v1/chat/feedback", json={"feedback_type": "thumbs_up", "message_id": message["id"]}, headers=alice
    )
    return AliceData(session["id"], message["id"], feedback.json()["id"])


async def call(client: Client, method: str, path: str, body: Any, headers: Headers) -> Any:
    return await client.request(method, path, json=body, headers=headers)


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
async def test_every_route_needs_a_key_or_session(client: Client, method: str, path: str, body: Any) -> None:
    for headers, code in (
        ({}, "missing_credentials"),
        ({"Authorization": "Bearer tw_not-a-real-key"}, "invalid_api_key"),
        ({"Authorization": "Bearer not-a-session-token"}, "invalid_token"),
    ):
        response = await call(client, method, path.replace("{", "x").replace("}", ""), body, headers)
        assert_error(response, 401, code)


async def scoped_key(client: Client, owner: Headers, scopes: list[str]) -> Headers:
    created = await client.post("/v1/keys", json={"name": "scoped", "scopes": scopes}, headers=owner)
    assert created.status_code == 201, created.text
    return {"Authorization": f"Bearer {created.json()['key']}"}


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
async def test_reads_need_the_read_scope_and_writes_the_inference_scope(
    client: Client, alice: Headers, alices: AliceData, method: str, path: str, body: Any
) -> None:
    reads = method == "GET" or path == "/v1/chat/search"
    refused = await scoped_key(client, alice, ["inference"] if reads else ["read"])
    allowed = await scoped_key(client, alice, ["read"] if reads else ["inference"])

    assert_error(await call(client, method, alices.fill(path), alices.fill(body), refused), 403, "forbidden")
    assert (await call(client, method, alices.fill(path), alices.fill(body), allowed)).status_code < 300


@pytest.mark.parametrize(("method", "path", "body"), OBJECT_ROUTES)
async def test_another_users_objects_are_not_found(
    client: Client, alice: Headers, bob: Headers, alices: AliceData, method: str, path: str, body: Any
) -> None:
    response = await call(client, method, alices.fill(path), alices.fill(body), bob)
    assert_error(response, 404)
    assert "secret" not in response.text
    # Alice's objects are untouched and still hers.
    session = await client.get(alices.fill(f"/v1/chat/sessions/{SID}"), headers=alice)
    assert session.status_code == 200
    assert session.json()["title"] == "secret plans"
    assert [m["content"] for m in session.json()["messages"]["data"]] == ["the secret is 42"]
    feedback = (await client.get("/v1/chat/feedback", headers=alice)).json()["data"]
    assert [(f["id"], f["rating"]) for f in feedback] == [(alices.names[FID], None)]


async def test_another_users_lists_search_and_stats_are_empty(client: Client, bob: Headers, alices: AliceData) -> None:
    assert (await client.get("/v1/chat/sessions", headers=bob)).json()["data"] == []
    assert (await client.post("/v1/chat/search", json={"query": "secret"}, headers=bob)).json()["data"] == []
    assert (await client.get("/v1/chat/feedback", headers=bob)).json()["data"] == []
    stats = (await client.get("/v1/chat/stats", headers=bob)).json()
    assert (stats["total_sessions"], stats["total_messages"]) == (0, 0)
    assert (await client.get("/v1/chat/feedback/stats", headers=bob)).json()["total_feedback"] == 0


@pytest.mark.parametrize(("method", "path", "body"), BODY_ROUTES)
@pytest.mark.parametrize("extra", [{"user_id": "usr_x"}, {"id": "chat_x"}, {"is_active": False}, {"unknown": 1}])
async def test_unknown_or_privileged_fields_are_422(
    client: Client, alice: Headers, alices: AliceData, method: str, path: str, body: Any, extra: dict[str, Any]
) -> None:
    response = await call(client, method, alices.fill(path), {**alices.fill(body), **extra}, alice)
    assert_error(response, 422, "unprocessable")
    assert response.json()["error"]["param"] is not None or "unknown" in response.json()["error"]["message"]


async def test_a_signed_in_session_reaches_the_same_history_as_the_users_key(client: Client) -> None:
    password = "correct horse battery staple"
    registered = await client.post("/v1/auth/register", json={"email": "dana@example.com", "password": password})
    assert registered.status_code == 201, registered.text
    key = {"Authorization": f"Bearer {registered.json()['api_key']['key']}"}
    login = await client.post("/v1/auth/login", json={"email": "dana@example.com", "password": password})
    assert login.status_code == 200, login.text
    session_token = {"Authorization": f"Bearer {login.json()['access_token']}"}

    made = await create_session(client, session_token, title="from the console")
    await add_message(client, key, made["id"], content="from the SDK")

    listed = (await client.get("/v1/chat/sessions", headers=key)).json()["data"]
    assert [s["id"] for s in listed] == [made["id"]]
    detail = (await client.get(f"/v1/chat/sessions/{made['id']}", headers=session_token)).json()
    assert [m["content"] for m in detail["messages"]["data"]] == ["from the SDK"]
