"""The operator's reports in a real browser on the real stack: provider reconciliation and billing's audit trail."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.analytics.test_reconciliation import catalogue_prices, fake_url, served_requests, wait_until_recorded
from tests.e2e.console.steps import (
    Snap,
    admin_read,
    chat,
    coupon,
    credited_balance,
    grant,
    refund_latest_usage,
    register,
    sign_in_as_operator,
)
from tollway.testing.stack import RunningStack

# Served by fake-openai as fake-gpt and fake-gpt-mini; the fake reports 5 % more than it served, so both drift.
TRAFFIC = {"gpt-4o": 3, "gpt-4o-mini": 2}
PROVIDER = "fake-openai"


def test_operator_imports_provider_usage_and_sees_the_overbilled_rows_flagged(
    console_stack: RunningStack, page: Page, snap: Snap
) -> None:
    overreport = {"served_prices": catalogue_prices(), "overreport_percent": 5}
    assert httpx.post(f"{fake_url(console_stack)}/_fakellm/admin-usage", json=overreport, timeout=10).status_code == 200
    for model, times in TRAFFIC.items():
        for _ in range(times):
            chat(console_stack, model)
    today = datetime.now(UTC).date().isoformat()

    sign_in_as_operator(page, console_stack)
    page.get_by_role("link", name="Reconciliation").click()
    expect(page.get_by_role("heading", name=re.compile("^No provider has reported usage"))).to_be_visible()
    expect(page.get_by_text("POST /admin/v1/provider-usage/import?provider=openai")).to_be_visible()  # what to run

    wait_until_recorded(console_stack, datetime.now(UTC).date(), served_requests(console_stack))
    importer = page.get_by_role("form", name="Import provider usage")
    importer.get_by_label("Provider id", exact=True).fill(PROVIDER)
    importer.get_by_label("First day", exact=True).fill(today)
    importer.get_by_label("Last day", exact=True).fill(today)
    importer.get_by_role("button", name="Import usage").click()
    expect(page.get_by_role("status").filter(has_text=f"Imported 2 rows from {PROVIDER}")).to_be_visible()

    report = page.get_by_role("form", name="Choose the report")
    report.get_by_label("From", exact=True).fill(today)
    report.get_by_label("To", exact=True).fill(today)
    report.get_by_label("To", exact=True).press("Enter")  # the keyboard shows the report too
    rows = page.get_by_test_id("reconciliation")
    for model in ("fake-gpt", "fake-gpt-mini"):
        row = rows.locator("tbody tr").filter(has=page.get_by_text(model, exact=True))
        expect(row).to_contain_text("flagged")
    expect(rows.locator("tbody tr").first).to_contain_text(re.compile(r"\+[45]\.\d\d %"))
    expect(page.get_by_test_id("reconciliation-flagged")).to_have_text("2 of 2")
    answered = admin_read(console_stack, "/admin/v1/reconciliation", **{"from": today, "to": today})
    assert answered["drifted"] == 2
    theirs = sum(line["provider_cost_micros"] for line in answered["data"])
    assert theirs > sum(line["recorded_cost_micros"] for line in answered["data"]) > 0
    snap(page, "reconciliation")

    report.get_by_label("Provider", exact=True).select_option(PROVIDER)
    report.get_by_label("Only flagged rows").check()
    report.get_by_role("button", name="Show report").click()
    expect(rows.locator("tbody tr")).to_have_count(2)

    page.set_viewport_size({"width": 390, "height": 844})  # on a phone the table scrolls inside its frame
    expect(rows).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_operator_reads_who_granted_refunded_and_made_a_coupon_in_billings_audit(
    console_stack: RunningStack, page: Page, snap: Snap
) -> None:
    user_id, key = register(console_stack)
    credited_balance(console_stack, key)
    granted = grant(console_stack, user_id, 3_000_000, "audit journey")
    chat(console_stack, key=key)
    refunded = refund_latest_usage(console_stack, key)
    code = coupon(console_stack, value_micros=500_000)
    operator = admin_read(console_stack, "/admin/v1/billing/audit", user_id=user_id)["data"][0]
    assert operator["actor"].startswith("admin-key:")

    sign_in_as_operator(page, console_stack)
    page.get_by_role("link", name="Audit log").click()
    page.get_by_role("navigation", name="Audit logs").get_by_role("link", name="Credit and coupons").click()
    expect(page.get_by_role("heading", name="Billing audit")).to_be_visible()
    entries = page.get_by_test_id("billing-audit")
    expect(entries.locator("tbody tr").first).to_contain_text(code)  # newest first: the coupon came last
    expect(entries.locator("tr", has_text=granted)).to_contain_text("$3.00")

    form = page.get_by_role("form", name="Filter the billing audit trail")
    form.get_by_label("User id", exact=True).fill(user_id)
    form.get_by_label("User id", exact=True).press("Enter")
    expect(entries.locator("tbody tr")).to_have_count(2)  # the grant and the refund; the coupon is anyone's
    expect(entries.locator("tbody tr").first).to_contain_text(refunded)
    expect(entries.locator("tbody tr").first).to_contain_text("refund")
    expect(entries.locator("tr", has_text=granted)).to_contain_text(operator["actor"])
    snap(page, "billing-audit")

    form.get_by_label("Action", exact=True).select_option("grant")
    form.get_by_role("button", name="Apply").click()
    expect(entries.locator("tbody tr")).to_have_count(1)
    expect(entries).to_contain_text(granted)

    form.get_by_label("Operator", exact=True).fill("admin-key:nobody")
    form.get_by_role("button", name="Apply").click()
    expect(page.get_by_test_id("billing-audit")).to_contain_text("No operator action matches")  # says what to do

    page.get_by_role("navigation", name="Audit logs").get_by_role("link", name="Accounts and keys").click()
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
