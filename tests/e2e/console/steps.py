"""What the console journeys do outside the page: SDK calls, sign-ins, and reading the real state back over HTTP."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from email import message_from_bytes
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import openai
from playwright.sync_api import Page, expect

from tollway.testing.stack import RunningStack

# Analytics and billing see a request through the usage event's consumers; the console refreshes every 5 s.
PIPELINE_S = 45_000
PASSWORD = "a long console passphrase 7"
Snap = Callable[[Page, str], None]
MINUS = "\N{MINUS SIGN}"  # the console writes negative amounts with a true minus
MONEY = re.compile(rf"^{MINUS}?\$[\d,]+\.\d{{2,6}}$")


def sdk(stack: RunningStack, key: str | None = None) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{stack.base_url}/v1", api_key=key or stack.api_key, max_retries=0)


def chat(stack: RunningStack, model: str = "gpt-4o-mini", key: str | None = None) -> str:
    """One chat request through the official SDK; its request id."""
    raw = sdk(stack, key).chat.completions.with_raw_response.create(
        model=model,
        messages=[{"role": "user", "content": "Say hello"}],
    )
    assert raw.parse().choices[0].message.content
    return raw.headers["x-request-id"]


def sign_up(page: Page, stack: RunningStack, email: str) -> str:
    """A new account made on the sign-up page, signed in; the first API key it showed once."""
    page.goto(f"{stack.base_url}/console/#/signup")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    shown = page.get_by_test_id("new-secret")
    expect(shown).to_have_text(re.compile(r"^tw_"))  # the first key, shown once
    secret = shown.inner_text()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Credits")).to_be_visible()
    return secret


def sign_in_as_operator(page: Page, stack: RunningStack) -> None:
    page.goto(f"{stack.base_url}/console/#/admin/signin")
    page.get_by_label("Admin key", exact=True).fill(stack.admin_key)
    page.get_by_role("button", name="Enter operator mode").click()
    expect(page.get_by_role("heading", name="Accounts and credit")).to_be_visible()


def _get(stack: RunningStack, path: str, key: str, **params: str) -> Any:
    answer = httpx.get(f"{stack.base_url}{path}", params=params, headers={"authorization": f"Bearer {key}"}, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _post(stack: RunningStack, path: str, key: str, body: dict[str, object], status: int = 201) -> Any:
    headers = {"idempotency-key": str(uuid.uuid4())} | ({"authorization": f"Bearer {key}"} if key else {})
    answer = httpx.post(f"{stack.base_url}{path}", json=body, headers=headers, timeout=10)
    assert answer.status_code == status, answer.text
    return answer.json()


def transactions(stack: RunningStack, kind: str, key: str | None = None) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = _get(stack, "/v1/credits/transactions", key or stack.api_key, type=kind)["data"]
    return rows


def breaker_phase(stack: RunningStack, deployment: str) -> str:
    provider, model = deployment.split("/", 1)
    phase: str = _get(stack, f"/admin/v1/circuit-breakers/{provider}/{quote(model, safe='')}", stack.admin_key)["phase"]
    return phase


def coupon(stack: RunningStack, value_micros: int) -> str:
    code = f"JOURNEY{uuid.uuid4().hex[:6].upper()}"
    _post(stack, "/admin/v1/coupons", stack.admin_key, {"code": code, "value_micros": value_micros, "max_uses": 10})
    return code


def incident_statuses(stack: RunningStack, provider: str) -> list[str]:
    return [i["status"] for i in _get(stack, "/admin/v1/incidents", stack.admin_key, provider=provider)["data"]]


def register(stack: RunningStack) -> tuple[str, str]:
    """A user signed up over the API; their id and first key."""
    email = f"bulk-{uuid.uuid4().hex[:8]}@example.com"
    made = _post(stack, "/v1/auth/register", "", {"email": email, "password": PASSWORD})
    return made["user"]["id"], made["api_key"]["key"]


def credited_balance(stack: RunningStack, key: str, within: float = 45.0) -> int:
    """The balance in micro-USD once the new account's trial credit has landed (it arrives through events)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        balance: int = _get(stack, "/v1/credits/balance", key)["balance_micros"]
        if balance > 0:
            return balance
        time.sleep(0.5)
    raise AssertionError("the trial credit never arrived")


def balance(stack: RunningStack, key: str) -> int:
    micros: int = _get(stack, "/v1/credits/balance", key)["balance_micros"]
    return micros


def chat_session(stack: RunningStack, key: str, title: str, messages: list[tuple[str, str]]) -> str:
    """A conversation saved as a chat client saves it: the session, then its messages in one batch; its id."""
    session = _post(stack, "/v1/chat/sessions", key, {"title": title, "model": "gpt-4o-mini"})
    batch = [{"role": role, "content": content, "tokens": 12} for role, content in messages]
    saved = _post(stack, f"/v1/chat/sessions/{session['id']}/messages/batch", key, {"messages": batch}, 200)
    assert saved["success_count"] == len(messages), saved
    session_id: str = session["id"]
    return session_id


def chat_session_status(stack: RunningStack, key: str, session_id: str) -> int:
    answer = httpx.get(
        f"{stack.base_url}/v1/chat/sessions/{session_id}", headers={"authorization": f"Bearer {key}"}, timeout=10
    )
    return answer.status_code


def reset_link(mail: Path, email: str, within: float = 30.0) -> str:
    """The console link in the reset mail the sink wrote for this address."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for path in sorted(mail.glob("*.eml")) if mail.is_dir() else []:
            message = message_from_bytes(path.read_bytes())
            if message["To"] == email:
                payload = message.get_payload(decode=True)
                assert isinstance(payload, bytes)
                body = payload.decode()
                found = re.search(r"(http\S+/console/#/reset\?token=\S+)", body)
                assert found, body
                return found.group(1)
        time.sleep(0.5)
    raise AssertionError(f"no reset mail for {email} in {mail}")


def grant(stack: RunningStack, user_id: str, micros: int, description: str) -> str:
    """An operator's grant over the admin API; its transaction id."""
    body = {"amount_micros": micros, "description": description}
    made: dict[str, str] = _post(stack, f"/admin/v1/accounts/{user_id}/grants", stack.admin_key, body)
    return made["id"]


def refund_latest_usage(stack: RunningStack, key: str, within: float = 45.0) -> str:
    """Refunds the user's newest usage charge once billing has debited it; the refund's transaction id."""
    deadline = time.monotonic() + within
    while not (charges := transactions(stack, "usage", key)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert charges, "the usage debit never arrived"
    path = f"/admin/v1/transactions/{charges[0]['id']}/refund"
    made: dict[str, str] = _post(stack, path, stack.admin_key, {"reason": "console journey"})
    return made["id"]


def admin_read(stack: RunningStack, path: str, **params: str) -> Any:
    """An admin route's answer over HTTP, to check what a page showed against the API."""
    return _get(stack, path, stack.admin_key, **params)
