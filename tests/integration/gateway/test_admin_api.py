"""The admin API: admin-key auth, users and keys, OpenAI-shaped errors with the right statuses."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.gateway.conftest import ADMIN, ADMIN_KEY, Client, ClientFactory
from tollway.gateway.db.tables import api_keys, auth_audit
from tollway.gateway.settings import GatewaySettings
from tollway.platform.identity import IDENTITY_HEADER, SIGNATURE_HEADER, verify_identity
from tollway.testing.processes import free_port


def assert_error(body: dict[str, Any], code: str, param: str | None = None) -> None:
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert (body["error"]["code"], body["error"]["param"]) == (code, param)
    assert "Traceback" not in str(body)


async def create_user(client: Client, **body: Any) -> dict[str, Any]:
    response = await client.post("/admin/v1/users", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-admin-key-0123456789"},
        {"Authorization": ADMIN_KEY},
        {"x-api-key": ADMIN_KEY},
    ],
)
async def test_admin_routes_need_the_admin_key(client: Client, engine: AsyncEngine, headers: dict[str, str]) -> None:
    responses = [
        await client.post("/admin/v1/users", json={}, headers=headers),
        await client.get("/admin/v1/users/usr_x", headers=headers),
        await client.delete("/admin/v1/api-keys/key_x", headers=headers),
    ]
    for response in responses:
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert_error(response.json(), "invalid_admin_key")
        assert response.json()["error"]["type"] == "authentication_error"
        assert ADMIN_KEY not in response.text
    async with engine.connect() as conn:
        audited = (await conn.execute(select(auth_audit.c.event, auth_audit.c.detail))).all()
    # One row per reason and address a minute: a flood of bad admin keys cannot flood the audit table.
    assert [event for event, _ in audited] == ["admin_auth_failed"]
    assert all(ADMIN_KEY not in str(detail) for _, detail in audited)


async def test_without_a_configured_admin_key_every_call_is_refused(gateway: ClientFactory) -> None:
    async with gateway(admin_key="") as client:
        response = await client.post("/admin/v1/users", json={}, headers={"Authorization": "Bearer "})
        assert response.status_code == 401
        response = await client.post("/admin/v1/users", json={}, headers=ADMIN)
        assert response.status_code == 401


async def test_create_and_get_a_user(client: Client) -> None:
    created = await create_user(client, email="Ada@Example.com", display_name="Ada", routing_strategy="cheapest")

    fetched = await client.get(f"/admin/v1/users/{created['id']}", headers=ADMIN)

    assert fetched.status_code == 200
    assert fetched.json() == created
    assert created["id"].startswith("usr_")
    assert (created["email"], created["routing_strategy"], created["is_active"]) == (
        "ada@example.com",
        "cheapest",
        True,
    )


async def test_unknown_user_is_404(client: Client) -> None:
    for response in (
        await client.get("/admin/v1/users/usr_nope", headers=ADMIN),
        await client.get("/admin/v1/users/usr_nope/api-keys", headers=ADMIN),
        await client.post("/admin/v1/users/usr_nope/api-keys", json={}, headers=ADMIN),
    ):
        assert response.status_code == 404
        assert_error(response.json(), "user_not_found", "user_id")


async def test_duplicate_email_is_409(client: Client) -> None:
    await create_user(client, email="ada@example.com")
    response = await client.post("/admin/v1/users", json={"email": "ADA@example.com"}, headers=ADMIN)
    assert response.status_code == 409
    assert_error(response.json(), "email_taken", "email")


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"routing_strategy": "random"}, "routing_strategy"),
        ({"email": "a@b.co", "is_active": False}, None),
        ({"credits": 1_000_000}, None),
        ({"email": 42}, "email"),
    ],
)
async def test_invalid_bodies_are_400(client: Client, body: dict[str, Any], param: str | None) -> None:
    response = await client.post("/admin/v1/users", json=body, headers=ADMIN)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["type"] == "invalid_request_error"
    if param is not None:
        assert response.json()["error"]["param"] == param


async def test_malformed_json_is_400(client: Client) -> None:
    headers = {**ADMIN, "content-type": "application/json"}
    response = await client.post("/admin/v1/users", content=b"{not json", headers=headers)
    assert response.status_code == 400
    assert_error(response.json(), "invalid_request", response.json()["error"]["param"])


async def test_keys_are_shown_once_listed_without_secrets_and_revoked(client: Client, engine: AsyncEngine) -> None:
    user = await create_user(client, email="ada@example.com")
    created = await client.post(f"/admin/v1/users/{user['id']}/api-keys", json={"name": "ci"}, headers=ADMIN)
    assert created.status_code == 201
    assert created.headers["cache-control"] == "no-store"
    key = created.json()
    assert key["key"].startswith("tw_")
    assert key["display_prefix"] == key["key"][:11]

    listed = await client.get(f"/admin/v1/users/{user['id']}/api-keys", headers=ADMIN)
    assert listed.status_code == 200
    assert [k["id"] for k in listed.json()["data"]] == [key["id"]]
    assert key["key"] not in listed.text
    async with engine.connect() as conn:
        digest = (await conn.execute(select(api_keys.c.digest))).scalar_one()
    assert digest not in listed.text
    assert digest not in created.text

    revoked = await client.delete(f"/admin/v1/api-keys/{key['id']}", headers=ADMIN)
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    again = await client.delete(f"/admin/v1/api-keys/{key['id']}", headers=ADMIN)
    assert (again.status_code, again.json()["revoked_at"]) == (200, revoked.json()["revoked_at"])


async def test_revoking_an_unknown_key_is_404(client: Client) -> None:
    response = await client.delete("/admin/v1/api-keys/key_nope", headers=ADMIN)
    assert response.status_code == 404
    assert_error(response.json(), "api_key_not_found", "api_key_id")


async def test_key_expiry_must_be_future(client: Client) -> None:
    user = await create_user(client)
    path = f"/admin/v1/users/{user['id']}/api-keys"
    past = await client.post(path, json={"expires_at": "2020-01-01T00:00:00Z"}, headers=ADMIN)
    assert past.status_code == 400
    assert_error(past.json(), "invalid_value", "expires_at")
    future = await client.post(path, json={"expires_at": "2999-01-01T00:00:00Z"}, headers=ADMIN)
    assert future.status_code == 201
    assert future.json()["expires_at"].startswith("2999-01-01")


OWNED_ADMIN_ROUTES = [
    ("POST", "/admin/v1/accounts/usr_x/grants"),
    ("POST", "/admin/v1/accounts/usr_x/adjustments"),
    ("POST", "/admin/v1/transactions/txn_x/refund"),
    ("GET", "/admin/v1/usage"),
]


@pytest.mark.parametrize(("method", "path"), OWNED_ADMIN_ROUTES)
async def test_owned_admin_routes_need_the_admin_key_before_anything_is_forwarded(
    gateway: ClientFactory, method: str, path: str
) -> None:
    async with recording_owner() as owner, gateway(billing_url=owner.url, analytics_url=owner.url) as client:
        response = await client.request(method, path, json={"amount_micros": 1}, headers={"Authorization": "Bearer x"})
    assert response.status_code == 401
    assert_error(response.json(), "invalid_admin_key")
    assert owner.seen == []


@pytest.mark.parametrize(("method", "path"), OWNED_ADMIN_ROUTES)
async def test_owned_admin_routes_reach_their_owner_with_a_signed_admin_identity(
    gateway: ClientFactory, settings: GatewaySettings, method: str, path: str
) -> None:
    async with recording_owner() as owner, gateway(billing_url=owner.url, analytics_url=owner.url) as client:
        body = b'{"amount_micros": 5, "description": "as sent"}'
        response = await client.request(
            method,
            path + "?user_id=usr_x",
            content=body,
            headers={**ADMIN, "content-type": "application/json", "idempotency-key": "k-1"},
        )
    assert (response.status_code, response.json()) == (202, {"owner": "answered"})
    [(seen_method, seen_path, headers, seen_body)] = owner.seen
    identity = verify_identity(headers[IDENTITY_HEADER], headers[SIGNATURE_HEADER], settings.internal_secret.encode())
    assert (seen_method, seen_path, identity.role) == (method, path + "?user_id=usr_x", "admin")
    assert identity.user_id is not None
    assert identity.user_id.startswith("admin-key:")  # the owner's audit rows say which admin key acted
    assert headers["idempotency-key"] == "k-1"
    assert "authorization" not in {name.lower() for name in headers}  # the admin key never leaves the gateway
    assert seen_body == body  # passed through untouched; the owner validates it


async def test_an_unreachable_owner_is_a_503_not_a_traceback(gateway: ClientFactory) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    async with gateway(billing_url=nobody, analytics_url=nobody) as client:
        grant = await client.post("/admin/v1/accounts/usr_x/grants", json={"amount_micros": 1}, headers=ADMIN)
        usage = await client.get("/admin/v1/usage", headers=ADMIN)
    for response in (grant, usage):
        assert response.status_code == 503
        assert_error(response.json(), "service_unavailable")


class RecordingOwner(ThreadingHTTPServer):
    """A stand-in billing/analytics that records what the gateway forwards and answers 202.

    It runs on its own thread: the Litestar test client blocks the test's event loop while the app handles a call.
    """

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _RecordingHandler)
        self.seen: list[tuple[str, str, dict[str, str], bytes]] = []
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


class _RecordingHandler(BaseHTTPRequestHandler):
    server: RecordingOwner

    def _answer(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        self.server.seen.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        answer = b'{"owner": "answered"}'
        self.send_response(202)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    do_GET = do_POST = _answer  # noqa: N815

    def log_message(self, *args: object) -> None:
        """Quiet: the test asserts on what was seen."""


@asynccontextmanager
async def recording_owner() -> AsyncIterator[RecordingOwner]:
    owner = RecordingOwner()
    thread = threading.Thread(target=owner.serve_forever, daemon=True)
    thread.start()
    try:
        yield owner
    finally:
        owner.shutdown()
        owner.server_close()
