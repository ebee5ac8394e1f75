"""The console in a real browser against the real stack: a user's journeys and an operator's."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect

from tests.e2e.console.steps import (
    MINUS,
    MONEY,
    PASSWORD,
    PIPELINE_S,
    Snap,
    balance,
    breaker_phase,
    chat,
    chat_session,
    chat_session_status,
    coupon,
    credited_balance,
    incident_statuses,
    register,
    reset_link,
    sign_in_as_operator,
    sign_up,
    transactions,
)
from tollway.testing.stack import RunningStack

FLAKY_PRIMARY = "fake-openai/fake-gpt+status=503"  # the catalogue's always-503 primary of flaky-gpt
BREAKER_OPENS_AFTER = 5  # INFERENCE_ROUTER_BREAKER_FAILURE_THRESHOLD's default (the incident opens at 3, see conftest)
FLAKY_PROVIDER = "fake-openai"


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

    code = coupon(console_stack, value_micros=1_000_000)
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

    page.goto(reset_link(console_stack.run_dir / "mail", email))
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
    assert breaker_phase(stack, FLAKY_PRIMARY) == "closed"


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
    assert incident_statuses(stack, FLAKY_PROVIDER) == ["resolved"]


def test_operator_finds_the_user_grants_credit_resets_a_breaker_and_resolves_an_incident(
    console_stack: RunningStack, page: Page, snap: Snap
) -> None:
    for _ in range(BREAKER_OPENS_AFTER):
        chat(console_stack, "flaky-gpt")  # served by the backup; each failure of the primary feeds breaker and incident

    sign_in_as_operator(page, console_stack)

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
    grants = transactions(console_stack, "grant")
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


def test_user_finds_a_saved_chat_by_search_reads_it_and_deletes_another(
    console_stack: RunningStack, page: Page, snap: Snap
) -> None:
    key = sign_up(page, console_stack, f"chats-{uuid.uuid4().hex[:8]}@example.com")
    page.get_by_role("link", name="Chat history").click()
    expect(page.get_by_test_id("chat-sessions")).to_contain_text("No saved chats yet")  # and what saves one
    kept = chat_session(
        console_stack,
        key,
        "Key rotation",
        [
            ("user", "How do I rotate an API key without downtime?"),
            ("assistant", "Rotate it: the old key keeps working during the grace period, then revoke it."),
        ],
    )
    dropped = chat_session(
        console_stack, key, "Dinner plans", [("user", "Suggest a pasta for tonight"), ("assistant", "Cacio e pepe.")]
    )

    page.get_by_role("button", name="Refresh").click()
    sessions = page.get_by_test_id("chat-sessions")
    expect(sessions).to_contain_text("Key rotation")
    expect(sessions).to_contain_text("Dinner plans")
    expect(page.get_by_test_id("chat-total-sessions")).to_have_text("2")
    expect(page.get_by_test_id("chat-total-messages")).to_have_text("4")

    search = page.get_by_role("search", name="Search your chats")
    search.get_by_label("Words to find", exact=True).fill("rotating downtime")  # stemmed: rotating finds rotate
    search.get_by_label("Words to find", exact=True).press("Enter")
    expect(sessions).not_to_contain_text("Dinner plans")
    expect(sessions.locator("tbody tr")).to_have_count(1)
    sessions.get_by_role("button", name="Open chat Key rotation").press("Enter")  # the keyboard opens it too
    conversation = page.get_by_test_id("chat-messages")
    expect(conversation).to_contain_text("without downtime?")
    expect(conversation).to_contain_text("then revoke it.")
    expect(page.get_by_role("heading", name="Key rotation", exact=True)).to_be_focused()
    snap(page, "chats")

    page.get_by_role("button", name="Show every chat").click()
    sessions.get_by_role("button", name="Delete chat Dinner plans").click()
    page.get_by_role("button", name="Yes, delete Dinner plans").click()
    expect(page.get_by_role("status").filter(has_text="Deleted Dinner plans")).to_be_visible()
    expect(sessions).not_to_contain_text("Dinner plans")
    expect(sessions).to_contain_text("Key rotation")
    assert chat_session_status(console_stack, key, dropped) == 404
    assert chat_session_status(console_stack, key, kept) == 200

    page.set_viewport_size({"width": 390, "height": 844})  # on a phone the conversation wraps instead of scrolling
    sessions.get_by_role("button", name="Open chat Key rotation").click()
    expect(page.get_by_test_id("chat-messages")).to_contain_text("then revoke it.")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_operator_sees_latency_and_failures_per_provider_over_time(
    console_stack: RunningStack, page: Page, snap: Snap
) -> None:
    for _ in range(3):
        chat(console_stack, "gpt-4o-mini")  # served by fake-openai, its primary

    sign_in_as_operator(page, console_stack)
    page.get_by_role("link", name="Circuit breakers").click()
    page.get_by_role("link", name="Latency and errors per provider").click()
    expect(page.get_by_role("heading", name="Provider latency and errors")).to_be_visible()
    latency = page.get_by_role("img", name="Latency of fake-openai (ms)")
    expect(latency).to_be_visible(timeout=PIPELINE_S)  # drawn only once analytics has a latency for it
    expect(latency.locator("desc")).to_contain_text(re.compile(r"p95 peaks at [\d,]+ ms"))
    expect(page.get_by_test_id("provider-totals")).to_contain_text("fake-openai")

    page.get_by_label("Provider", exact=True).select_option("fake-openai")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_test_id("provider-figures").locator("section")).to_have_count(1)
    expect(page.get_by_role("img", name="Latency of fake-openai (ms)")).to_be_visible()
    expect(page.get_by_test_id("provider-figures")).to_contain_text("Failed requests at fake-openai")
    snap(page, "providers")


def usd(micros: int) -> str:
    """Micro-USD as the console writes it: at least two decimals, no trailing zeros past them."""
    cents = f"{micros % 1_000_000:06d}".rstrip("0").ljust(2, "0")
    return f"${micros // 1_000_000:,}.{cents}"


def test_operator_bulk_grants_to_two_users_and_sees_both_balances_rise(
    console_stack: RunningStack, page: Page, snap: Snap
) -> None:
    users = [register(console_stack) for _ in range(2)]
    before = {user_id: credited_balance(console_stack, key) for user_id, key in users}

    sign_in_as_operator(page, console_stack)
    page.get_by_role("link", name="Bulk grants").click()
    page.get_by_label("User ids", exact=True).fill("\n".join(user_id for user_id, _ in users))
    page.get_by_label("Amount per account (USD)", exact=True).fill("1.25")
    page.get_by_label("Description", exact=True).fill("bulk journey")
    expect(page.get_by_test_id("bulk-preview")).to_have_text("2 accounts \N{MULTIPLICATION SIGN} $1.25 = $2.50")
    page.get_by_role("button", name="Grant to every account").click()
    expect(page.get_by_test_id("bulk-status")).to_have_text("success")
    results = page.get_by_test_id("bulk-results")
    for user_id, key in users:
        after = before[user_id] + 1_250_000
        row = results.locator("tr", has_text=user_id)
        expect(row).to_contain_text("granted")
        expect(row).to_contain_text(usd(after))
        assert balance(console_stack, key) == after
        grants = transactions(console_stack, "grant", key)
        assert [(t["amount_micros"], t["description"]) for t in grants] == [(1_250_000, "bulk journey")]
    snap(page, "grants")

    page.get_by_role("link", name="Audit log").click()
    entries = page.get_by_test_id("audit")
    expect(entries).to_contain_text(users[1][0])  # newest first: the last sign-up is on the first page
    page.get_by_label("User id", exact=True).fill(users[0][0])
    page.get_by_label("User id", exact=True).press("Enter")
    expect(entries).not_to_contain_text(users[1][0])
    expect(entries).to_contain_text("key_created")  # registering made the account and its first key
    snap(page, "audit")
    page.get_by_label("Event", exact=True).select_option("user_registered")
    page.get_by_role("button", name="Apply").click()
    expect(entries.locator("tbody tr")).to_have_count(1)
    expect(entries).to_contain_text("user_registered")
