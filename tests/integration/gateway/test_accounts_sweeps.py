"""Proof sweeps over the account routes: object-level authorization, mass assignment, scopes, admin by role."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.gateway.conftest import ADMIN, Client
from tests.integration.gateway.test_accounts_api import bearer, login, register

# Every route that names one of the caller's own objects.
OBJECT_ROUTES: tuple[tuple[str, str, dict[str, Any] | None], ...] = (
    ("GET", "/v1/keys/{id}", None),
    ("PATCH", "/v1/keys/{id}", {"name": "mine now"}),
    ("DELETE", "/v1/keys/{id}", None),
    ("POST", "/v1/keys/{id}/rotate", {}),
)


async def two_users(client: Client) -> tuple[dict[str, Any], dict[str, Any]]:
    return await register(client, email="a@example.com"), await register(client, email="b@example.com")


async def test_a_cannot_see_or_touch_bs_keys_and_cannot_tell_they_exist(client: Client) -> None:
    a, b = await two_users(client)
    a_session = bearer((await login(client, email="a@example.com"))["access_token"])
    for credentials in (a_session, bearer(a["api_key"]["key"])):
        for method, template, body in OBJECT_ROUTES:
            theirs = await client.request(
                method, template.format(id=b["api_key"]["id"]), json=body, headers=credentials
            )
            missing = await client.request(
                method, template.format(id="key_doesnotexist000000000"), json=body, headers=credentials
            )
            assert theirs.status_code == missing.status_code == 404, (method, template, theirs.text)
            assert theirs.json()["error"]["code"] == missing.json()["error"]["code"] == "api_key_not_found"
        listed = (await client.get("/v1/keys", headers=credentials)).json()["data"]
        assert [key["id"] for key in listed] == [a["api_key"]["id"]]
    # B's key still works and was never changed.
    assert (await client.get(f"/v1/keys/{b['api_key']['id']}", headers=bearer(b["api_key"]["key"]))).json()[
        "name"
    ] == "Primary key"


MASS_ASSIGNMENT = (
    (
        "POST",
        "/v1/auth/register",
        {"email": "c@example.com", "password": "correct horse battery staple", "role": "admin"},
    ),
    (
        "POST",
        "/v1/auth/register",
        {"email": "c@example.com", "password": "correct horse battery staple", "is_active": True},
    ),
    ("POST", "/v1/auth/login", {"email": "a@example.com", "password": "x" * 12, "remember": True}),
    ("POST", "/v1/auth/refresh", {"refresh_token": "twr_x", "user_id": "usr_x"}),
    ("POST", "/v1/auth/password-reset", {"email": "a@example.com", "token": "twp_x"}),
    ("POST", "/v1/auth/password-reset/confirm", {"token": "twp_x", "new_password": "y" * 12, "user_id": "usr_x"}),
    ("POST", "/v1/auth/external", {"id_token": "x", "email": "a@example.com"}),
    ("PATCH", "/v1/me", {"role": "admin"}),
    ("PATCH", "/v1/me", {"is_active": False}),
    ("PATCH", "/v1/me", {"email": "new@example.com"}),
    ("PATCH", "/v1/me", {"password_hash": "$argon2id$..."}),
    ("POST", "/v1/keys", {"name": "k", "user_id": "usr_other"}),
    ("POST", "/v1/keys", {"name": "k", "digest": "00" * 32}),
    ("POST", "/v1/keys", {"name": "k", "revoked_at": None}),
    ("POST", "/v1/keys", {"name": "k", "rpm": 0}),
    ("POST", "/v1/keys", {"scopes": ["admin"]}),
    ("POST", "/v1/keys", {"spend_limit_day_micros": -1}),
    ("POST", "/v1/keys", {"ip_allowlist": ["not-an-address"]}),
    ("PATCH", "/v1/keys/{id}", {"user_id": "usr_other"}),
    ("PATCH", "/v1/keys/{id}", {"rotated_to": "key_x"}),
    ("PATCH", "/v1/keys/{id}", {"display_prefix": "tw_aaaaaaaa"}),
    ("POST", "/v1/keys/{id}/rotate", {"key": "tw_chosen"}),
)


@pytest.mark.parametrize(("method", "path", "body"), MASS_ASSIGNMENT, ids=lambda v: str(v)[:40])
async def test_unknown_or_privileged_fields_are_422(
    client: Client, method: str, path: str, body: dict[str, Any]
) -> None:
    a = await register(client, email="a@example.com")
    response = await client.request(
        method, path.format(id=a["api_key"]["id"]), json=body, headers=bearer(a["api_key"]["key"])
    )
    assert response.status_code == 422, response.text
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}
    me = (await client.get("/v1/me", headers=bearer(a["api_key"]["key"]))).json()
    assert (me["role"], me["is_active"], me["email"]) == ("user", True, "a@example.com")


async def test_malformed_json_is_400_not_422(client: Client) -> None:
    response = await client.post("/v1/auth/login", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 400


SCOPED_ROUTES: tuple[tuple[str, str, dict[str, Any] | None, str], ...] = (
    # (method, path, body, scope it needs)
    ("GET", "/v1/me", None, "read"),
    ("PATCH", "/v1/me", {"display_name": "x"}, "account"),
    ("GET", "/v1/keys", None, "read"),
    ("POST", "/v1/keys", {"name": "x"}, "account"),
    ("GET", "/v1/keys/{id}", None, "read"),
    ("PATCH", "/v1/keys/{id}", {"name": "x"}, "account"),
    ("POST", "/v1/keys/{id}/rotate", {}, "account"),
    ("DELETE", "/v1/keys/{id}", None, "account"),
    ("GET", "/v1/credits/balance", None, "read"),
    ("GET", "/v1/usage", None, "read"),
)


async def test_scope_sweep(client: Client) -> None:
    registered = await register(client, email="a@example.com")
    session = bearer((await login(client, email="a@example.com"))["access_token"])
    keys = {}
    for scope in ("inference", "read", "account"):
        created = await client.post("/v1/keys", json={"name": scope, "scopes": [scope]}, headers=session)
        keys[scope] = created.json()
    target = registered["api_key"]["id"]
    for method, template, body, needs in SCOPED_ROUTES:
        for scope, key in keys.items():
            response = await client.request(method, template.format(id=target), json=body, headers=bearer(key["key"]))
            if scope == needs or (
                needs == "read" and scope == "account" and "credits" not in template and "usage" not in template
            ):
                # `account` includes reading the account itself; credit and usage reads need `read`.
                assert response.status_code != 403, (method, template, scope, response.text)
            else:
                assert response.status_code == 403, (method, template, scope, response.text)
                assert response.json()["error"]["code"] == "forbidden"
    assert (await client.get("/v1/me")).status_code == 401


async def test_a_user_with_the_admin_role_may_use_the_admin_api(client: Client) -> None:
    a, b = await two_users(client)
    user_key = bearer(a["api_key"]["key"])
    assert (await client.get("/admin/v1/users", headers=user_key)).status_code == 401
    promoted = await client.patch(f"/admin/v1/users/{a['user']['id']}", json={"role": "admin"}, headers=ADMIN)
    assert promoted.json()["role"] == "admin"

    session = bearer((await login(client, email="a@example.com"))["access_token"])
    for credentials in (user_key, session):
        listed = await client.get("/admin/v1/users", headers=credentials)
        assert listed.status_code == 200
        assert len(listed.json()["data"]) == 2
    narrow = await client.post("/v1/keys", json={"name": "ci", "scopes": ["inference"]}, headers=session)
    assert (await client.get("/admin/v1/users", headers=bearer(narrow.json()["key"]))).status_code == 401
    assert (await client.get("/admin/v1/users", headers=bearer(b["api_key"]["key"]))).status_code == 401


ODD_REQUESTS: tuple[tuple[str, str, Any], ...] = (
    ("POST", "/v1/keys", {"scopes": "inference"}),
    ("POST", "/v1/keys", {"expires_at": "tomorrow"}),
    ("POST", "/v1/keys", {"expires_at": "2030-01-01T00:00:00"}),
    ("POST", "/v1/keys", {"allowed_models": ["m"] * 500}),
    ("POST", "/v1/keys", {"ip_allowlist": ["0.0.0.0/0"] * 60}),
    ("POST", "/v1/keys", {"spend_limit_day_micros": 2**70}),
    ("POST", "/v1/keys", [1, 2]),
    ("POST", "/v1/keys/{id}/rotate", {"grace_seconds": -5}),
    ("POST", "/v1/keys/{id}/rotate", {"grace_seconds": 10**9}),
    ("PATCH", "/v1/me", {"routing_strategy": "chaos"}),
    ("PATCH", "/v1/me", {"display_name": "x" * 5000}),
    ("POST", "/v1/auth/login", {"email": "x" * 400, "password": "p"}),
    ("POST", "/v1/auth/refresh", {"refresh_token": ""}),
    ("POST", "/v1/auth/password-reset/confirm", {"token": "twp_nope", "new_password": "whatever long enough"}),
    ("GET", "/admin/v1/users?limit=0", None),
    ("GET", "/admin/v1/users?limit=abc", None),
    ("GET", "/admin/v1/users?cursor=%%%", None),
    ("GET", "/admin/v1/users?cursor=WzEsMl0", None),
    ("GET", "/admin/v1/users?created_after=yesterday", None),
    ("GET", "/admin/v1/users?active=maybe", None),
    ("GET", "/admin/v1/users/growth?days=0", None),
    ("GET", "/admin/v1/users/growth?days=366", None),
    ("GET", "/admin/v1/audit?cursor=WyIyMDI2LTEyLTAzVDAwOjAwOjAwWiIsIngiXQ", None),
    ("POST", "/admin/v1/users/lookup-by-key", {"key": "tw_short"}),
    ("DELETE", "/admin/v1/users/by-domain/%25.com", None),
    ("PATCH", "/admin/v1/users/usr_missing", {"is_active": False}),
    ("GET", "/admin/v1/api-keys/key_missing", None),
)


async def test_odd_inputs_get_4xx_in_the_error_shape_never_a_500(client: Client) -> None:
    a = await register(client, email="a@example.com")
    user = bearer(a["api_key"]["key"])
    for method, path, body in ODD_REQUESTS:
        headers = ADMIN if path.startswith("/admin") else user
        response = await client.request(method, path.format(id=a["api_key"]["id"]), json=body, headers=headers)
        assert 400 <= response.status_code < 500, (method, path, response.status_code, response.text)
        assert set(response.json()["error"]) == {"message", "type", "param", "code"}, (path, response.text)
