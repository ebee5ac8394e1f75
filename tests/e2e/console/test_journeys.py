"""The console in a real browser against the real stack: a user's journey and an operator's."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import quote

import httpx
import openai
from playwright.sync_api import Page, expect

from tollway.testing.stack import RunningStack

# Analytics and billing see a request through the usage event's consumers; the console refreshes every 5 s.
PIPELINE_S = 45_000
FLAKY_PRIMARY = "fake-openai/fake-gpt+status=503"  # the catalogue's always-503 primary of flaky-gpt
BREAKER_OPENS_AFTER = 5  # INFERENCE_ROUTER_BREAKER_FAILURE_THRESHOLD's default
Snap = Callable[[Page, str], None]
MINUS = "\N{MINUS SIGN}"  # the console writes negative amounts with a true minus
MONEY = re.compile(rf"^{MINUS}?\$[\d,]+\.\d{{2,6}}$")


def sdk(stack: RunningStack) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{stack.base_url}/v1", api_key=stack.api_key, max_retries=0)


def chat(stack: RunningStack, model: str = "gpt-4o-mini") -> str:
    """One chat request through the official SDK; its request id."""
    raw = sdk(stack).chat.completions.with_raw_response.create(
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


def test_user_sees_their_request_in_usage_and_its_debit_in_credits(
    console_stack: RunningStack, page: Page, snap: Snap
) -> None:
    sign_in_with_key(page, console_stack, snap)
    balance = page.get_by_test_id("balance")
    expect(balance).to_have_text(MONEY)
    before = balance.inner_text()

    request_id = chat(console_stack)

    page.get_by_role("link", name="Usage").click()
    expect(page.get_by_test_id("requests")).to_contain_text(request_id, timeout=PIPELINE_S)
    expect(page.get_by_role("img", name="Requests per day")).to_be_visible()
    snap(page, "usage")

    page.get_by_role("link", name="Credits").click()
    newest = page.get_by_test_id("transactions").locator("tbody tr").first
    expect(newest).to_contain_text(f"usage:{request_id}", timeout=PIPELINE_S)
    after_debit = newest.locator("td").nth(3).inner_text()
    expect(balance).to_have_text(after_debit)
    assert after_debit != before
    assert newest.locator("td").nth(2).inner_text().startswith(f"{MINUS}$")
    snap(page, "credits")

    page.set_viewport_size({"width": 390, "height": 844})  # a phone: nothing may force sideways scrolling
    page.get_by_role("link", name="Usage").click()
    expect(page.get_by_test_id("requests")).to_contain_text(request_id)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    snap(page, "usage-phone")


def test_operator_finds_the_user_grants_credit_and_resets_a_breaker(
    console_stack: RunningStack, page: Page, snap: Snap
) -> None:
    for _ in range(BREAKER_OPENS_AFTER):
        chat(console_stack, "flaky-gpt")  # served by the backup; each failure of the primary feeds its breaker

    page.goto(f"{console_stack.base_url}/console/#/admin/signin")
    page.get_by_label("Admin key", exact=True).fill(console_stack.admin_key)
    page.get_by_role("button", name="Enter operator mode").click()
    expect(page.get_by_role("heading", name="Accounts and credit")).to_be_visible()

    page.get_by_label("User id or email", exact=True).fill(console_stack.user_id)
    page.get_by_role("button", name="Find").click()
    detail = page.get_by_test_id("user-detail")
    expect(detail).to_contain_text("demo@tollway.local")
    expect(detail).to_contain_text(console_stack.user_id)

    page.get_by_label("Amount (USD)", exact=True).fill("2.50")
    page.get_by_label("Description", exact=True).fill("console journey")
    page.get_by_role("button", name="Grant credit").click()
    expect(page.get_by_test_id("grant-result")).to_contain_text("Granted $2.50")
    snap(page, "accounts")
    grants = _transactions(console_stack, "grant")
    assert [(t["amount_micros"], t["description"]) for t in grants] == [(2_500_000, "console journey")]

    page.get_by_role("link", name="Usage across users").click()
    expect(page.get_by_role("img", name="Spend per model")).to_be_visible()
    expect(page.get_by_test_id("total-requests")).not_to_have_text("0")
    snap(page, "admin-usage")

    page.get_by_role("link", name="Circuit breakers").click()
    breakers = page.get_by_test_id("breakers")
    expect(breakers).to_contain_text(FLAKY_PRIMARY)
    row = breakers.locator("tr", has_text=FLAKY_PRIMARY)
    expect(row).not_to_contain_text("closed")
    snap(page, "breakers")
    page.get_by_role("button", name=f"Reset breaker {FLAKY_PRIMARY}").click()
    expect(page.get_by_role("status").filter(has_text=f"Breaker {FLAKY_PRIMARY} reset.")).to_be_visible()
    expect(page.get_by_text("every deployment is healthy")).to_be_visible()
    assert _breaker_phase(console_stack, FLAKY_PRIMARY) == "closed"

    # Pages on routes other services are still adding say so, or show their data once the route exists.
    page.get_by_role("link", name="Incidents").click()
    expect(page.get_by_test_id("unavailable").or_(page.get_by_test_id("incidents"))).to_be_visible()
    snap(page, "incidents")


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
