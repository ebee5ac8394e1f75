"""The whole stack as `make run` starts it: a key's budget counter equals billing's debits, a reached budget is
announced once on the BILLING stream, balance alerts are mailed."""

from __future__ import annotations

import asyncio
import concurrent.futures
import email
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from tollway.contracts import BudgetExceededV1, decode, subject_of
from tollway.platform.messaging import Namespace
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


async def _announcements(nats_url: str, ns: Namespace, key_id: str) -> list[BudgetExceededV1]:
    """Every ``billing.budget.exceeded.v1`` of the key stored on the stack's BILLING stream so far."""
    nc = await nats.connect(nats_url)
    try:
        config = ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE)
        subject = ns.subject(subject_of(BudgetExceededV1))
        sub = await nc.jetstream().pull_subscribe(subject, stream=ns.stream("BILLING"), config=config)
        pending = (await sub.consumer_info()).num_pending or 0
        messages = await sub.fetch(pending, timeout=5) if pending else []
        await sub.unsubscribe()
    finally:
        await nc.close()
    return [e for e in (decode(BudgetExceededV1, m.data) for m in messages) if e.api_key_id == key_id]


def _spent_by_key(base: str, owner: dict[str, str], key_id: str) -> tuple[int, int]:
    summary = httpx.get(f"{base}/v1/credits/summary", params={"days": 1}, headers=owner, timeout=10).json()
    lines = [line for line in summary["by_key"] if line["key"] == key_id]
    return (int(lines[0]["spend_micros"]), int(lines[0]["requests"])) if lines else (0, 0)


def test_a_budget_set_after_spending_is_announced_once_when_the_ledger_reaches_it(
    stack: RunningStack, test_infra: LocalInfra
) -> None:
    """Billing counts the whole day (the gateway only from the change): the next debit reaches the limit."""
    base, owner = stack.base_url, {"authorization": f"Bearer {stack.api_key}"}
    ns = Namespace(f"stack{stack.offset}")
    created = httpx.post(f"{base}/v1/keys", json={"name": "e2e-budget-event"}, headers=owner, timeout=10)
    assert created.status_code == 201, created.text
    key, key_id = created.json()["key"], created.json()["id"]
    body: dict[str, Any] = {"model": MODEL, "messages": [{"role": "user", "content": "hello"}], "max_tokens": 16}

    def one() -> int:
        answer = httpx.post(
            f"{base}/v1/chat/completions", json=body, headers={"authorization": f"Bearer {key}"}, timeout=30
        )
        return answer.status_code

    assert [one() for _ in range(12)] == [200] * 12
    deadline = time.monotonic() + 30
    while (spent := _spent_by_key(base, owner, key_id))[1] < 12 and time.monotonic() < deadline:
        time.sleep(0.3)
    assert spent[1] == 12, spent
    assert spent[0] > 0, spent
    limit = spent[0] + 1  # the day's spend so far, plus one micro-USD
    patched = httpx.patch(f"{base}/v1/keys/{key_id}", json={"spend_limit_day_micros": limit}, headers=owner, timeout=10)
    assert patched.status_code == 200, patched.text
    time.sleep(3)  # the change travels gateway outbox → GATEWAY stream → billing

    events: list[BudgetExceededV1] = []
    deadline = time.monotonic() + 30
    while not events and time.monotonic() < deadline:
        assert one() in (200, 402)
        events = asyncio.run(_announcements(test_infra.nats_url, ns, key_id))
        time.sleep(0.5)
    assert len(events) == 1, events
    (event,) = events
    assert (event.window, event.limit_micros, event.user_id) == ("day", limit, stack.user_id)
    assert event.spent_micros >= limit
    assert event.period == time.strftime("%Y%m%d", time.gmtime())
    for _ in range(3):  # more spend the same day: the period was announced already
        one()
    time.sleep(2)
    assert len(asyncio.run(_announcements(test_infra.nats_url, ns, key_id))) == 1


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
