"""The console in a real browser against the real stack: a user's journey and an operator's."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from email import message_from_bytes
from pathlib import Path
from urllib.parse import quote

import httpx
import openai
from playwright.sync_api import Page, expect

from tollway.testing.stack import RunningStack

# Analytics and billing see a request through the usage event's consumers; the console refreshes every 5 s.
PIPELINE_S = 45_000
FLAKY_PRIMARY = "fake-openai/fake-gpt+status=503"  # the catalogue's always-503 primary of flaky-gpt
BREAKER_OPENS_AFTER = 5  # INFERENCE_ROUTER_BREAKER_FAILURE_THRESHOLD's default (the incident opens at 3, see conftest)
FLAKY_PROVIDER = "fake-openai"
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


def sign_in_with_key(page: Page, stack: RunningStack, snap: Snap) -> None:
    page.goto(f"{stack.base_url}/console/")
    expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
    snap(page, "signin")
    page.get_by_label("API key", exact=True).fill(stack.api_key)
    page.get_by_label("API key", exact=True).press("Enter")  # keyboard only: the form submits on Enter
    expect(page.get_by_role("heading", name="Credits")).to_be_visible()


def test_user_signs_in_with_an_api_key_from_the_keyboard(console_stack: RunningStack, page: Page, snap: Snap) -> None:
    sign_in_with_key(page, console_stack, snap)
    expect(page.get_by_test_id("balance")).to_have_text(MONEY)


def sign_up(page: Page, stack: RunningStack, email: str) -> None:
    page.goto(f"{stack.base_url}/console/#/signup")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_test_id("new-secret")).to_have_text(re.compile(r"^tw_"))  # the first key, shown once
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Credits")).to_be_visible()


def create_key(page: Page) -> str:
    """A key with only the inference scope and a daily spend limit, made on the keys page; its secret."""
    page.get_by_role("link", name="API keys").click()
    page.get_by_label("Name", exact=True).fill("journey")
    page.get_by_label("Read usage and credits").uncheck()
    page.get_by_label("Daily spend limit (USD)").fill("1.50")
    page.get_by_role("button", name="Create key").click()
    shown = page.get_by_test_id("new-secret").or_(page.get_by_role("alert"))
    expect(shown).to_be_visible(timeout=PIPELINE_S)  # a loaded machine can be slow; an error would be an alert
    assert page.get_by_role("alert").count() == 0, page.get_by_role("alert").all_inner_texts()
    secret = page.get_by_test_id("new-secret").inner_text()
    row = page.get_by_test_id("keys").locator("tr", has_text="journey")
    expect(row).to_contain_text("$1.50/day")
    expect(row).to_contain_text("inference")
    expect(row).not_to_contain_text("read")
    return secret


def test_user_signs_up_makes_a_key_and_sees_their_request_in_usage_and_credits(
    console_stack: RunningStack, page: Page, snap: Snap
) -> None:
    email = f"journey-{uuid.uuid4().hex[:8]}@example.com"
    sign_up(page, console_stack, email)
    balance = page.get_by_test_id("balance")
    expect(balance).not_to_have_text("$0.00", timeout=PIPELINE_S)  # the trial credit arrived
    expect(balance).to_have_text(MONEY)
    before = balance.inner_text()

    secret = create_key(page)
    snap(page, "keys")
    request_id = chat(console_stack, key=secret)

    page.get_by_role("link", name="Usage").click()
    expect(page.get_by_test_id("requests")).to_contain_text(request_id, timeout=PIPELINE_S)
    expect(page.get_by_role("img", name="Requests per day")).to_be_visible()
    expect(page.get_by_test_id("total-requests")).to_have_text("1")
    snap(page, "usage")

    page.get_by_role("link", name="Credits").click()
    newest = page.get_by_test_id("transactions").locator("tbody tr").first
    expect(newest).to_contain_text(f"usage:{request_id}", timeout=PIPELINE_S)
    after_debit = newest.locator("td").nth(3).inner_text()
    expect(balance).to_have_text(after_debit)
    assert after_debit != before
    assert newest.locator("td").nth(2).inner_text().startswith(f"{MINUS}$")

    code = _coupon(console_stack, value_micros=1_000_000)
    page.get_by_label("Coupon code", exact=True).fill(code.lower())  # codes are case-insensitive
    page.get_by_role("button", name="Redeem").click()
    expect(page.get_by_role("status").filter(has_text="$1.00 added")).to_be_visible()
    expect(page.get_by_test_id("transactions").locator("tbody tr").first).to_contain_text("coupon", timeout=PIPELINE_S)
    snap(page, "credits")

    page.set_viewport_size({"width": 390, "height": 844})  # a phone: nothing may force sideways scrolling
    page.get_by_role("link", name="Usage").click()
    expect(page.get_by_test_id("requests")).to_contain_text(request_id)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    snap(page, "usage-phone")


def test_user_resets_their_password_through_the_mail_sink_and_signs_in_with_it(
    console_stack: RunningStack, page: Page, snap: Snap
) -> None:
    email = f"reset-{uuid.uuid4().hex[:8]}@example.com"
    sign_up(page, console_stack, email)
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_role("button", name="Send reset link").click()
    expect(page.get_by_role("status")).to_contain_text("reset link is on its way")

    page.goto(_reset_link(console_stack.run_dir / "mail", email))
    page.get_by_label("New password", exact=True).fill(f"{PASSWORD} renewed")
    page.get_by_role("button", name="Set password").click()
    expect(page.get_by_role("status")).to_contain_text("Password changed")
    snap(page, "reset")

    page.get_by_role("link", name="Sign in", exact=True).last.click()
    form = page.get_by_role("form", name="Sign in with email and password")
    form.get_by_label("Email", exact=True).fill(email)
    form.get_by_label("Password", exact=True).fill(f"{PASSWORD} renewed")
    form.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Credits")).to_be_visible()
    expect(page.get_by_text(f"Signed in: {email}")).to_be_visible()


def reset_the_breaker(page: Page, stack: RunningStack, snap: Snap) -> None:
    page.get_by_role("link", name="Circuit breakers").click()
    breakers = page.get_by_test_id("breakers")
    expect(breakers).to_contain_text(FLAKY_PRIMARY)
    row = breakers.locator("tr", has_text=FLAKY_PRIMARY)
    expect(row).not_to_contain_text("closed")
    snap(page, "breakers")
    page.get_by_role("button", name=f"Reset breaker {FLAKY_PRIMARY}").click()
    expect(page.get_by_role("status").filter(has_text=f"Breaker {FLAKY_PRIMARY} reset.")).to_be_visible()
    expect(page.get_by_text("every deployment is healthy")).to_be_visible()
    assert _breaker_phase(stack, FLAKY_PRIMARY) == "closed"


def resolve_the_incident(page: Page, stack: RunningStack, snap: Snap) -> None:
    page.get_by_role("link", name="Incidents").click()
    incident = page.get_by_test_id("incidents").locator("tbody tr", has_text=FLAKY_PROVIDER)
    expect(incident).to_contain_text("ongoing", timeout=PIPELINE_S)
    incident.get_by_role("button", name=re.compile("^Logs of incident")).click()
    # A failed attempt the backup recovered is no error row, so the window's logs may be empty: the panel says so.
    expect(page.get_by_test_id("incident-logs")).to_contain_text("errors from 5 minutes before the incident")
    snap(page, "incidents")
    incident.get_by_role("button", name=re.compile("^Resolve incident")).click()
    expect(incident).to_contain_text("resolved")
    assert _incident_statuses(stack, FLAKY_PROVIDER) == ["resolved"]


def test_operator_finds_the_user_grants_credit_resets_a_breaker_and_resolves_an_incident(
    console_stack: RunningStack, page: Page, snap: Snap
) -> None:
    for _ in range(BREAKER_OPENS_AFTER):
        chat(console_stack, "flaky-gpt")  # served by the backup; each failure of the primary feeds breaker and incident

    page.goto(f"{console_stack.base_url}/console/#/admin/signin")
    page.get_by_label("Admin key", exact=True).fill(console_stack.admin_key)
    page.get_by_role("button", name="Enter operator mode").click()
    expect(page.get_by_role("heading", name="Accounts and credit")).to_be_visible()

    page.get_by_label("User id or email", exact=True).fill("demo@tollway")  # part of the email: one match opens
    page.get_by_role("button", name="Find").click()
    expect(page.get_by_test_id("user-matches")).to_contain_text("demo@tollway.local")
    detail = page.get_by_test_id("user-detail")
    expect(detail).to_contain_text(console_stack.user_id)
    expect(page.get_by_test_id("statement")).to_contain_text("reconciled")

    page.get_by_label("Amount (USD)", exact=True).fill("2.50")
    page.get_by_label("Description", exact=True).fill("console journey")
    page.get_by_role("button", name="Grant credit").click()
    expect(page.get_by_test_id("grant-result")).to_contain_text("Granted $2.50")
    snap(page, "accounts")
    grants = _transactions(console_stack, "grant")
    assert [(t["amount_micros"], t["description"]) for t in grants] == [(2_500_000, "console journey")]

    page.get_by_role("link", name="Usage across users").click()
    expect(page.get_by_role("img", name="Spend per model")).to_be_visible()
    expect(page.get_by_test_id("total-requests")).not_to_have_text("0", timeout=PIPELINE_S)
    snap(page, "admin-usage")

    page.get_by_role("link", name="Request monitor").click()
    expect(page.get_by_role("img", name="Requests per day (all users)")).to_be_visible()
    expect(page.get_by_test_id("admin-requests")).to_contain_text("flaky-gpt", timeout=PIPELINE_S)
    expect(page.get_by_test_id("providers")).to_contain_text("fake-openai-backup")
    snap(page, "requests")

    reset_the_breaker(page, console_stack, snap)
    resolve_the_incident(page, console_stack, snap)

    page.get_by_role("link", name="Coupons").click()
    expect(page.get_by_role("heading", name="Trial credit")).to_be_visible()
    expect(page.get_by_test_id("coupons")).to_be_visible()  # the table, or its empty state saying how to make one
    page.get_by_role("link", name="Tracking quality").click()
    expect(page.get_by_test_id("tracking-rate")).to_have_text(re.compile(r"%$"))
    snap(page, "tracking")


def _transactions(stack: RunningStack, kind: str) -> list[dict[str, object]]:
    answer = httpx.get(
        f"{stack.base_url}/v1/credits/transactions",
        params={"type": kind},
        headers={"authorization": f"Bearer {stack.api_key}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    rows: list[dict[str, object]] = answer.json()["data"]
    return rows


def _breaker_phase(stack: RunningStack, deployment: str) -> str:
    provider, model = deployment.split("/", 1)
    answer = httpx.get(
        f"{stack.base_url}/admin/v1/circuit-breakers/{provider}/{quote(model, safe='')}",
        headers={"authorization": f"Bearer {stack.admin_key}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    phase: str = answer.json()["phase"]
    return phase


def _coupon(stack: RunningStack, value_micros: int) -> str:
    code = f"JOURNEY{uuid.uuid4().hex[:6].upper()}"
    answer = httpx.post(
        f"{stack.base_url}/admin/v1/coupons",
        json={"code": code, "value_micros": value_micros, "max_uses": 10},
        headers={"authorization": f"Bearer {stack.admin_key}", "idempotency-key": str(uuid.uuid4())},
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    return code


def _incident_statuses(stack: RunningStack, provider: str) -> list[str]:
    answer = httpx.get(
        f"{stack.base_url}/admin/v1/incidents",
        params={"provider": provider},
        headers={"authorization": f"Bearer {stack.admin_key}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return [i["status"] for i in answer.json()["data"]]


def _reset_link(mail: Path, email: str, within: float = 30.0) -> str:
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
