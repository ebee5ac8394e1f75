"""A person's whole account journey against the stack ``make run`` starts, through the official SDK and real mail."""

from __future__ import annotations

import email
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import openai

from tollway.testing.stack import RunningStack

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a completely new passphrase 9"
EMAIL = "journey@example.com"
HI: Any = [{"role": "user", "content": "Say hello"}]


def until(check: Callable[[], Any], within: float, what: str) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {within} s")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def chat_status(http: httpx.Client, key: str) -> int:
    body = {"model": "gpt-4o-mini", "messages": HI, "max_tokens": 5}
    return http.post("/v1/chat/completions", json=body, headers=bearer(key)).status_code


def reset_mail(mail_dir: Path) -> str:
    files = sorted(mail_dir.glob("*.eml")) if mail_dir.exists() else []
    for path in files:
        message = email.message_from_bytes(path.read_bytes())
        if message["To"] == EMAIL:
            body = message.get_payload(decode=True).decode()  # type: ignore[union-attr]
            return next(word for word in body.split() if word.startswith("twp_"))
    return ""


def test_register_login_key_sdk_rotate_reset_and_deactivate(stack: RunningStack) -> None:
    admin = bearer(stack.admin_key)
    with httpx.Client(base_url=stack.base_url, timeout=15) as http:
        registered = http.post("/v1/auth/register", json={"email": EMAIL, "password": PASSWORD, "name": "J"})
        assert registered.status_code == 201, registered.text
        user_id = registered.json()["user"]["id"]
        first_key = registered.json()["api_key"]["key"]
        # Trial credit: gateway outbox → billing's consumer → balances bucket → the gateway's credit gate.
        until(lambda: chat_status(http, first_key) == 200, 60, "the trial credit")

        session = http.post("/v1/auth/login", json={"email": EMAIL, "password": PASSWORD}).json()
        created = http.post(
            "/v1/keys", json={"name": "sdk", "scopes": ["inference", "read"]}, headers=bearer(session["access_token"])
        )
        assert created.status_code == 201, created.text
        key = created.json()

        client = openai.OpenAI(base_url=f"{stack.base_url}/v1", api_key=key["key"])
        answer = client.chat.completions.create(model="gpt-4o-mini", messages=HI, max_tokens=5)
        assert answer.choices[0].message.content

        rotated = http.post(
            f"/v1/keys/{key['id']}/rotate", json={"grace_seconds": 3}, headers=bearer(session["access_token"])
        )
        assert rotated.status_code == 201, rotated.text
        new_key = rotated.json()["key"]
        assert chat_status(http, key["key"]) == 200  # the grace period
        assert chat_status(http, new_key) == 200
        until(lambda: chat_status(http, key["key"]) == 401, 10, "the rotated-out key stopping")
        sdk = openai.OpenAI(base_url=f"{stack.base_url}/v1", api_key=new_key)
        assert sdk.chat.completions.create(model="gpt-4o-mini", messages=HI, max_tokens=5).choices

        assert http.post("/v1/auth/password-reset", json={"email": EMAIL}).status_code == 202
        token = until(lambda: reset_mail(stack.run_dir / "mail"), 30, "the reset mail in .run/mail/")
        confirmed = http.post("/v1/auth/password-reset/confirm", json={"token": token, "new_password": NEW_PASSWORD})
        assert confirmed.status_code == 200, confirmed.text
        assert http.get("/v1/me", headers=bearer(session["access_token"])).status_code == 401
        assert http.post("/v1/auth/refresh", json={"refresh_token": session["refresh_token"]}).status_code == 401
        assert http.post("/v1/auth/login", json={"email": EMAIL, "password": PASSWORD}).status_code == 401
        assert http.post("/v1/auth/login", json={"email": EMAIL, "password": NEW_PASSWORD}).status_code == 200

        found = http.get("/admin/v1/users", params={"q": "journey@"}, headers=admin).json()["data"]
        assert [user["id"] for user in found] == [user_id]
        owner = http.post("/admin/v1/users/lookup-by-key", json={"key": new_key}, headers=admin)
        assert owner.json()["user"]["id"] == user_id
        off = http.patch(f"/admin/v1/users/{user_id}", json={"is_active": False}, headers=admin)
        assert off.status_code == 200
        until(lambda: chat_status(http, new_key) == 401, 5, "the deactivated user's key stopping")
