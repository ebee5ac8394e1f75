"""The whole stack as `make run` starts it: a key's budget counter equals billing's debits; balance alerts mailed."""

from __future__ import annotations

import concurrent.futures
import email
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tollway.testing.infra import LocalInfra
from tollway.testing.stack import RunningStack, running_stack

MODEL = "gpt-4o-mini"  # input and cache-write prices are equal, so the gate's price is billing's price


@pytest.fixture(scope="module")
def stack(
    migrated_database_url: str, test_infra: LocalInfra, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningStack]:
    with running_stack(
        database_url=migrated_database_url,
        nats_url=test_infra.nats_url,
        redis_url=test_infra.redis_url,
        run_dir=Path(tmp_path_factory.mktemp("stack")),
    ) as started:
        yield started


def _billed(base: str, owner: dict[str, str], key_id: str) -> int:
    summary = httpx.get(f"{base}/v1/credits/summary", params={"days": 1}, headers=owner, timeout=10)
    assert summary.status_code == 200, summary.text
    return sum(int(line["spend_micros"]) for line in summary.json()["by_key"] if line["key"] == key_id)


def test_the_budget_counter_equals_billings_debits_for_the_key(stack: RunningStack) -> None:
    base, owner = stack.base_url, {"authorization": f"Bearer {stack.api_key}"}
    limit = 600  # micro-USD: the fake upstream answers briefly, so a few dozen requests, then 402
    created = httpx.post(
        f"{base}/v1/keys", json={"name": "e2e-budget", "spend_limit_day_micros": limit}, headers=owner, timeout=10
    )
    assert created.status_code == 201, created.text
    key, key_id = created.json()["key"], created.json()["id"]
    body: dict[str, Any] = {"model": MODEL, "messages": [{"role": "user", "content": "hello"}], "max_tokens": 200}

    def one(_: int) -> int:
        answer = httpx.post(
            f"{base}/v1/chat/completions", json=body, headers={"authorization": f"Bearer {key}"}, timeout=30
        )
        return answer.status_code

    statuses: list[int] = []
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        while 402 not in statuses and len(statuses) < 400:  # bursts of 8 concurrent requests until the budget says no
            statuses.extend(pool.map(one, range(8)))
    spend = httpx.get(f"{base}/v1/keys/{key_id}/spend", headers=owner, timeout=10).json()
    assert statuses.count(200) > 0, (statuses, spend)
    assert statuses.count(402) > 0, (statuses, spend)
    assert set(statuses) <= {200, 402}

    deadline = time.monotonic() + 30
    while True:
        spend = httpx.get(f"{base}/v1/keys/{key_id}/spend", headers=owner, timeout=10).json()
        billed = _billed(base, owner, key_id)
        if billed == spend["day"]["spend_micros"] or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert spend["day"]["spend_micros"] == billed > 0
    assert billed <= limit  # never past the budget
    assert spend["day"]["limit_micros"] == limit


def _subjects(mail_dir: Path, recipient: str) -> list[str]:
    files = sorted(mail_dir.glob("*.eml")) if mail_dir.exists() else []
    messages = [email.message_from_bytes(path.read_bytes()) for path in files]
    return sorted(str(m["Subject"]) for m in messages if m["To"] == recipient)


def _adjust(stack: RunningStack, user_id: str, amount: int, idempotency_key: str) -> None:
    answer = httpx.post(
        f"{stack.base_url}/admin/v1/accounts/{user_id}/adjustments",
        json={"amount_micros": amount, "description": "e2e balance alert"},
        headers={"authorization": f"Bearer {stack.admin_key}", "idempotency-key": idempotency_key},
        timeout=10,
    )
    assert answer.status_code in (200, 201), answer.text


def test_low_and_exhausted_balances_each_send_one_mail(stack: RunningStack) -> None:
    recipient = f"alert-{uuid.uuid4().hex[:8]}@example.com"
    registered = httpx.post(
        f"{stack.base_url}/v1/auth/register",
        json={"email": recipient, "password": "a long enough passphrase 42", "name": "Al"},
        timeout=10,
    )
    assert registered.status_code == 201, registered.text
    user_id, key = registered.json()["user"]["id"], registered.json()["api_key"]["key"]
    user = {"authorization": f"Bearer {key}"}

    def balance() -> int:
        answer = httpx.get(f"{stack.base_url}/v1/credits/balance", headers=user, timeout=10)
        return int(answer.json()["balance_micros"]) if answer.status_code == 200 else 0

    deadline = time.monotonic() + 30
    while (start := balance()) < 1_000_000 and time.monotonic() < deadline:  # the trial credit lands
        time.sleep(0.3)
    assert start >= 1_000_000
    _adjust(stack, user_id, -(start - 500_000), f"low-{user_id}")  # below $1: balance.low
    _adjust(stack, user_id, -(start - 500_000), f"low-{user_id}")  # the same adjustment again: no second crossing
    _adjust(stack, user_id, -600_000, f"exhausted-{user_id}")  # below zero: balance.exhausted

    expected = ["Your Tollway balance is low", "Your Tollway balance is used up"]
    deadline = time.monotonic() + 30
    while _subjects(stack.run_dir / "mail", recipient) != expected and time.monotonic() < deadline:
        time.sleep(0.3)
    time.sleep(1.0)  # any duplicate has had time to arrive too
    assert _subjects(stack.run_dir / "mail", recipient) == expected
