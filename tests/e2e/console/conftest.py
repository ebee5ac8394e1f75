"""A whole stack (as ``make run`` starts it) and a headless Debian chromium for the console's browser journeys."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tollway.testing.infra import LocalInfra
from tollway.testing.stack import RunningStack, running_stack, wait_for_credit

ROOT = Path(__file__).resolve().parents[3]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# A provider incident opens after 3 failed attempts in a row and does not close itself while the journey looks at it.
INCIDENT_RULES = {"ERROR_MONITOR_INCIDENT_BREAKER_FAILURES": "3", "ERROR_MONITOR_INCIDENT_RECOVERY_SUCCESSES": "1000"}
# Set to a folder (docs/console) to refresh the README's screenshots while the journeys run.
SCREENSHOTS = os.environ.get("TOLLWAY_CONSOLE_SCREENSHOTS")


@pytest.fixture(scope="module")
def console_stack(
    migrated_database_url: str, test_infra: LocalInfra, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningStack]:
    """One stack for the journeys, with the demo user's trial credit already in the gateway."""
    with running_stack(
        database_url=migrated_database_url,
        nats_url=test_infra.nats_url,
        redis_url=test_infra.redis_url,
        run_dir=tmp_path_factory.mktemp("stack"),
        env=INCIDENT_RULES,
    ) as stack:
        wait_for_credit(stack)
        yield stack


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: apt-get install -y chromium"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context per journey (its own sessionStorage), failing on any script error."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    # console.error is how the console reports its own bugs; failed fetches (a probed route's 404) are not bugs.
    opened.on("console", lambda msg: _keep_error(errors, msg.type, msg.text))
    yield opened
    context.close()
    assert errors == []


def _keep_error(errors: list[str], kind: str, text: str) -> None:
    if kind == "error" and not text.startswith("Failed to load resource"):
        errors.append(text)


@pytest.fixture
def snap() -> Callable[[Page, str], None]:
    """Saves a full-page screenshot when TOLLWAY_CONSOLE_SCREENSHOTS names a folder; else does nothing."""

    def save(page: Page, name: str) -> None:
        if SCREENSHOTS:
            page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)

    return save
