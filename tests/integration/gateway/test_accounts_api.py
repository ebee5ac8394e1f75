"""Accounts end to end on one app: register, login, refresh rotation, logout, reset by mail outbox, /v1/me, keys."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.gateway.conftest import ADMIN, Client
from tollway.gateway.db.tables import api_keys, mail_outbox, password_resets, sessions, users

PASSWORD = "correct horse battery staple"


async def register(client: Client, email: str = "ada@example.com", password: str = PASSWORD) -> dict[str, Any]:
    response = await client.post("/v1/auth/register", json={"email": email, "password": password, "name": "Ada"})
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    return response.json()  # type: ignore[no-any-return]


async def login(client: Client, email: str = "ada@example.com", password: str = PASSWORD) -> dict[str, Any]:
    response = await client.post("/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_register_stores_a_hash_and_returns_a_first_key(client: Client, engine: AsyncEngine) -> None:
    body = await register(client)

    assert body["user"]["email"] == "ada@example.com"
    assert body["user"]["role"] == "user"
    assert body["api_key"]["key"].startswith("tw_")
    assert body["api_key"]["scopes"] == ["inference", "read", "account"]
    async with engine.connect() as conn:
        stored = (await conn.execute(select(users.c.password_hash))).scalar_one()
        digests = (await conn.execute(select(api_keys.c.digest))).scalars().all()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert body["api_key"]["key"] not in digests
    again = await client.post("/v1/auth/register", json={"email": "ADA@example.com ", "password": PASSWORD})
    assert again.status_code == 409


async def test_weak_passwords_and_unknown_fields_are_422(client: Client) -> None:
    for password in ("short", "password1234", "aaaaaaaaaaaaaaaa", "abcdefghijklmnop", "qwertyuiop12345"):
        response = await client.post("/v1/auth/register", json={"email": "ada@example.com", "password": password})
        assert response.status_code == 422, (password, response.text)
        assert response.json()["error"]["param"] == "password"
    response = await client.post(
        "/v1/auth/register", json={"email": "b@example.com", "password": PASSWORD, "role": "admin"}
    )
    assert response.status_code == 422
    assert "role" in response.json()["error"]["message"]


async def test_login_me_refresh_rotation_and_logout(client: Client) -> None:
    await register(client)
    session = await login(client)
    assert session["token_type"] == "bearer"
    assert session["expires_in"] == 900

    me = await client.get("/v1/me", headers=bearer(session["access_token"]))
    assert me.status_code == 200
    assert me.json()["email"] == "ada@example.com"

    rotated = await client.post("/v1/auth/refresh", json={"refresh_token": session["refresh_token"]})
    assert rotated.status_code == 200
    assert rotated.json()["refresh_token"] != session["refresh_token"]
    # Replaying the rotated-out token ends the whole session, for the thief and the owner alike.
    replay = await client.post("/v1/auth/refresh", json={"refresh_token": session["refresh_token"]})
    assert replay.status_code == 401
    newer = await client.post("/v1/auth/refresh", json={"refresh_token": rotated.json()["refresh_token"]})
    assert newer.status_code == 401
    assert (await client.get("/v1/me", headers=bearer(rotated.json()["access_token"]))).status_code == 401

    second = await login(client)
    assert (await client.post("/v1/auth/logout", headers=bearer(second["access_token"]))).status_code == 204
    assert (await client.get("/v1/me", headers=bearer(second["access_token"]))).status_code == 401


async def test_wrong_passwords_lock_the_account_with_a_clear_429(client: Client) -> None:
    await register(client)
    for _ in range(5):
        response = await client.post(
            "/v1/auth/login", json={"email": "ada@example.com", "password": "wrong password!!"}
        )
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "invalid_credentials"
    locked = await client.post("/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD})
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 0
    assert locked.json()["error"]["code"] == "too_many_attempts"
    unknown = await client.post("/v1/auth/login", json={"email": "nobody@example.com", "password": PASSWORD})
    assert unknown.status_code == 401
    assert unknown.json()["error"]["code"] == "invalid_credentials"


async def test_password_reset_changes_the_password_and_ends_sessions(client: Client, engine: AsyncEngine) -> None:
    await register(client)
    session = await login(client)

    for email in ("ada@example.com", "nobody@example.com"):
        response = await client.post("/v1/auth/password-reset", json={"email": email})
        assert response.status_code == 202  # the same answer either way: no account enumeration
    async with engine.connect() as conn:
        mails = (await conn.execute(select(mail_outbox.c.recipient, mail_outbox.c.body))).all()
        stored = (await conn.execute(select(password_resets.c.token_digest))).scalars().all()
    assert [recipient for recipient, _ in mails] == ["ada@example.com"]
    token = next(word for word in mails[0][1].split() if word.startswith("twp_"))
    assert token not in stored

    weak = await client.post("/v1/auth/password-reset/confirm", json={"token": token, "new_password": "short"})
    assert weak.status_code == 422
    new_password = "a brand new passphrase 42"
    done = await client.post("/v1/auth/password-reset/confirm", json={"token": token, "new_password": new_password})
    assert done.status_code == 200, done.text
    reused = await client.post("/v1/auth/password-reset/confirm", json={"token": token, "new_password": new_password})
    assert reused.status_code == 401

    assert (await client.get("/v1/me", headers=bearer(session["access_token"]))).status_code == 401
    old = await client.post("/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD})
    assert old.status_code == 401
    await login(client, password=new_password)
    async with engine.connect() as conn:
        live = (await conn.execute(select(sessions.c.id).where(sessions.c.revoked_at.is_(None)))).all()
    assert len(live) == 1


async def test_me_patch_is_allow_listed(client: Client) -> None:
    registered = await register(client)
    headers = bearer(registered["api_key"]["key"])

    changed = await client.patch(
        "/v1/me", json={"display_name": "Countess", "routing_strategy": "cheapest"}, headers=headers
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["display_name"], changed.json()["routing_strategy"]) == ("Countess", "cheapest")
    for field in ({"role": "admin"}, {"is_active": False}, {"email": "x@example.com"}, {"credits": 5}):
        response = await client.patch("/v1/me", json=field, headers=headers)
        assert response.status_code == 422, field
    assert (await client.get("/v1/me", headers=headers)).json()["role"] == "user"


async def test_keys_lifecycle_and_rotation_grace(client: Client) -> None:
    registered = await register(client)
    session = await login(client)
    headers = bearer(session["access_token"])

    created = await client.post(
        "/v1/keys",
        json={"name": "ci", "scopes": ["inference"], "allowed_models": ["gpt-4o-mini"], "ip_allowlist": ["10.0.0.0/8"]},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    key = created.json()
    assert (key["scopes"], key["allowed_models"], key["ip_allowlist"]) == (
        ["inference"],
        ["gpt-4o-mini"],
        ["10.0.0.0/8"],
    )
    listed = (await client.get("/v1/keys", headers=headers)).json()["data"]
    assert {k["id"] for k in listed} == {registered["api_key"]["id"], key["id"]}
    assert all("key" not in k for k in listed)
    assert all("digest" not in k for k in listed)

    patched = await client.patch(f"/v1/keys/{key['id']}", json={"name": "ci-2", "ip_allowlist": None}, headers=headers)
    assert patched.status_code == 200
    assert patched.json()["ip_allowlist"] is None
    assert patched.json()["name"] == "ci-2"
    bad = await client.patch(f"/v1/keys/{key['id']}", json={"scopes": ["root"]}, headers=headers)
    assert bad.status_code == 422
    unknown = await client.patch(f"/v1/keys/{key['id']}", json={"user_id": "usr_other"}, headers=headers)
    assert unknown.status_code == 422

    rotated = await client.post(
        f"/v1/keys/{registered['api_key']['id']}/rotate", json={"grace_seconds": 60}, headers=headers
    )
    assert rotated.status_code == 201, rotated.text
    new = rotated.json()
    assert new["key"] != registered["api_key"]["key"]
    assert new["previous"]["rotated_to"] == new["id"]
    assert new["previous"]["expires_at"] is not None
    # In the grace period both secrets work.
    assert (await client.get("/v1/me", headers=bearer(registered["api_key"]["key"]))).status_code == 200
    assert (await client.get("/v1/me", headers=bearer(new["key"]))).status_code == 200
    again = await client.post(f"/v1/keys/{registered['api_key']['id']}/rotate", headers=headers)
    assert again.status_code == 422

    revoked = await client.delete(f"/v1/keys/{new['id']}", headers=headers)
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None


async def test_rotated_out_key_stops_after_the_grace_period(client: Client) -> None:
    registered = await register(client)
    headers = bearer(registered["api_key"]["key"])
    rotated = await client.post(
        f"/v1/keys/{registered['api_key']['id']}/rotate", json={"grace_seconds": 0}, headers=headers
    )
    assert rotated.status_code == 201
    assert (await client.get("/v1/me", headers=headers)).status_code == 401
    assert (await client.get("/v1/me", headers=bearer(rotated.json()["key"]))).status_code == 200


async def test_admin_user_routes(client: Client) -> None:
    for n in range(5):
        await register(client, email=f"user{n}@corp.example")
    ada = await register(client, email="ada@example.com")

    first = (await client.get("/admin/v1/users", params={"limit": 2}, headers=ADMIN)).json()
    assert len(first["data"]) == 2
    assert first["has_more"]
    seen = [u["id"] for u in first["data"]]
    cursor = first["next_cursor"]
    while cursor:
        page = (await client.get("/admin/v1/users", params={"limit": 2, "cursor": cursor}, headers=ADMIN)).json()
        seen += [u["id"] for u in page["data"]]
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen)) == 6
    found = (await client.get("/admin/v1/users", params={"q": "corp"}, headers=ADMIN)).json()["data"]
    assert len(found) == 5
    assert (await client.get("/admin/v1/users/count", headers=ADMIN)).json()["count"] == 6
    stats = (await client.get("/admin/v1/users/stats", headers=ADMIN)).json()
    assert (stats["total"], stats["active"], stats["by_role"]) == (6, 6, {"user": 6})
    growth = (await client.get("/admin/v1/users/growth", params={"days": 7}, headers=ADMIN)).json()
    assert len(growth["data"]) == 7
    assert growth["data"][-1]["total"] == 6

    owner = await client.post("/admin/v1/users/lookup-by-key", json={"key": ada["api_key"]["key"]}, headers=ADMIN)
    assert owner.status_code == 200
    assert owner.json()["user"]["id"] == ada["user"]["id"]
    assert ada["api_key"]["key"] not in owner.text
    detail = (await client.get(f"/admin/v1/users/{ada['user']['id']}/detail", headers=ADMIN)).json()
    assert [k["id"] for k in detail["api_keys"]] == [ada["api_key"]["id"]]
    assert (await client.get(f"/admin/v1/api-keys/{ada['api_key']['id']}", headers=ADMIN)).status_code == 200

    off = await client.patch(f"/admin/v1/users/{ada['user']['id']}", json={"is_active": False}, headers=ADMIN)
    assert off.status_code == 200
    assert off.json()["is_active"] is False
    assert (await client.get("/v1/me", headers=bearer(ada["api_key"]["key"]))).status_code == 401
    assert (
        await client.patch(f"/admin/v1/users/{ada['user']['id']}", json={"role": "root"}, headers=ADMIN)
    ).status_code == 422

    protected = await client.delete("/admin/v1/users/by-domain/gmail.com", headers=ADMIN)
    assert protected.status_code == 400
    dry = (await client.delete("/admin/v1/users/by-domain/corp.example", headers=ADMIN)).json()
    assert (dry["dry_run"], dry["matched"], dry["deleted"]) == (True, 5, 0)
    real = await client.delete("/admin/v1/users/by-domain/corp.example", params={"dry_run": "false"}, headers=ADMIN)
    assert (real.json()["dry_run"], real.json()["deleted"]) == (False, 5)
    assert (await client.get("/admin/v1/users/count", headers=ADMIN)).json()["count"] == 1

    audit = (await client.get("/admin/v1/audit", params={"limit": 5}, headers=ADMIN)).json()
    assert len(audit["data"]) == 5
    assert audit["has_more"]
    assert audit["data"][0]["event"] == "user_deleted"
