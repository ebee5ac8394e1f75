"""Provider cost reconciliation on the whole stack: real requests through the gateway to the fake upstream, whose
admin APIs report what it served; the import and report go through the gateway's admin routes; a 5 % over-report
is flagged and published as ``analytics.reconciliation.drifted.v1`` by analytics' relay."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from tollway.contracts import ReconciliationDriftedV1, decode, subject_of
from tollway.contracts.streams import ANALYTICS_STREAM
from tollway.platform.messaging import Namespace, connect_nats
from tollway.testing.infra import LocalInfra
from tollway.testing.stack import ROOT, RunningStack, running_stack, wait_for_credit

# 4,000 characters are 1,000 prompt tokens for the fake: with 20 completion tokens each request costs whole micros.
PROMPT = [{"role": "user", "content": "x" * 4_000}]
# Served by fake-openai (fake-gpt, fake-gpt-mini) and fake-anthropic (fake-claude-haiku), as the catalogue routes them.
TRAFFIC = {"gpt-4o": 6, "gpt-4o-mini": 5, "claude-3-5-haiku": 4}
CHAT_PATHS = ("/v1/chat/completions", "/v1/messages")


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


def catalogue_prices() -> dict[str, dict[str, int]]:
    """Upstream model → the prices of the public model it serves first (what the fake bills each answer at)."""
    document = msgspec.yaml.decode((ROOT / "deploy/config/catalog.yaml").read_bytes())
    prices: dict[str, dict[str, int]] = {}
    for model in document["models"]:
        first = model["deployments"][0]["upstream_model"]
        prices.setdefault(first, {k: v for k, v in model["prices"].items() if isinstance(v, int)})
    return prices


def fake_url(stack: RunningStack) -> str:
    return f"http://127.0.0.1:{8090 + stack.offset}"


def admin(stack: RunningStack) -> dict[str, str]:
    return {"authorization": f"Bearer {stack.admin_key}"}


def served_requests(stack: RunningStack) -> int:
    stats = httpx.get(f"{fake_url(stack)}/_fakellm/stats", timeout=10).json()["requests"]
    return sum(sum(stats.get(path, {}).values()) for path in CHAT_PATHS)


def wait_until_recorded(stack: RunningStack, day: date, expected: int, within: float = 60.0) -> None:
    """Analytics has every request the fake served: reconciling earlier would stage drifts of its own lag."""
    window = {"from": day.isoformat(), "to": day.isoformat()}
    deadline = time.monotonic() + within
    recorded = -1
    while time.monotonic() < deadline:
        answer = httpx.get(
            f"{stack.base_url}/admin/v1/requests/summary", params=window, headers=admin(stack), timeout=30
        )
        assert answer.status_code == 200, answer.text
        if (recorded := answer.json()["requests"]) == expected:
            return
        time.sleep(0.5)
    raise AssertionError(f"analytics recorded {recorded} of the {expected} requests the fake served")


def import_usage(stack: RunningStack, provider: str, day: date) -> dict[str, Any]:
    window = {"provider": provider, "from": day.isoformat(), "to": day.isoformat()}
    answer = httpx.post(
        f"{stack.base_url}/admin/v1/provider-usage/import", params=window, headers=admin(stack), timeout=60
    )
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def reconciliation(stack: RunningStack, day: date) -> dict[str, Any]:
    window = {"from": day.isoformat(), "to": day.isoformat()}
    answer = httpx.get(f"{stack.base_url}/admin/v1/reconciliation", params=window, headers=admin(stack), timeout=30)
    assert answer.status_code == 200, answer.text
    report: dict[str, Any] = answer.json()
    return report


async def drift_events(stack: RunningStack, nats_url: str) -> list[ReconciliationDriftedV1]:
    ns = Namespace(f"stack{stack.offset}")
    nc = await connect_nats(nats_url, "reconciliation-e2e")
    try:
        config = ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE)
        sub = await nc.jetstream().pull_subscribe(
            ns.subject(subject_of(ReconciliationDriftedV1)), stream=ns.stream(ANALYTICS_STREAM.name), config=config
        )
        pending = (await sub.consumer_info()).num_pending or 0
        messages = await sub.fetch(pending, timeout=5) if pending else []
        await sub.unsubscribe()
    finally:
        await nc.close()
    return [decode(ReconciliationDriftedV1, m.data) for m in messages]


def test_imported_costs_reconcile_a_reimport_changes_nothing_and_a_5_percent_overreport_is_flagged(
    stack: RunningStack, test_infra: LocalInfra
) -> None:
    fake = fake_url(stack)
    loaded = httpx.post(f"{fake}/_fakellm/admin-usage", json={"served_prices": catalogue_prices()}, timeout=10)
    assert loaded.status_code == 200, loaded.text
    wait_for_credit(stack)
    day = datetime.now(UTC).date()
    user = {"authorization": f"Bearer {stack.api_key}"}
    for model, count in TRAFFIC.items():
        for _ in range(count):
            answer = httpx.post(
                f"{stack.base_url}/v1/chat/completions",
                json={"model": model, "messages": PROMPT},
                headers=user,
                timeout=30,
            )
            assert answer.status_code == 200, answer.text
    wait_until_recorded(stack, day, served_requests(stack))

    first = {p: import_usage(stack, p, day) for p in ("fake-openai", "fake-anthropic")}
    assert {p: (r["rows"], r["changed"], r["cursor"]) for p, r in first.items()} == {
        "fake-openai": (2, 2, day.isoformat()),
        "fake-anthropic": (1, 1, day.isoformat()),
    }
    clean = reconciliation(stack, day)
    lines = {(line["provider"], line["model"]): line for line in clean["data"]}
    assert set(lines) == {
        ("fake-openai", "fake-gpt"),
        ("fake-openai", "fake-gpt-mini"),
        ("fake-anthropic", "fake-claude-haiku"),
    }
    assert all(line["provider_cost_micros"] == line["recorded_cost_micros"] > 0 for line in lines.values()), lines
    per_request = (1_000 * 2_500_000 + 20 * 10_000_000) // 1_000_000  # gpt-4o: 1,000 in and 20 out, in micros
    assert lines["fake-openai", "fake-gpt"]["recorded_cost_micros"] == 6 * per_request
    assert (clean["drifted"], clean["new_drift_events"]) == (0, 0)

    again = {p: import_usage(stack, p, day) for p in ("fake-openai", "fake-anthropic")}
    assert {p: (r["rows"], r["changed"]) for p, r in again.items()} == {"fake-openai": (2, 0), "fake-anthropic": (1, 0)}
    assert reconciliation(stack, day)["data"] == clean["data"]

    overreport = {"served_prices": catalogue_prices(), "overreport_percent": 5}
    assert httpx.post(f"{fake}/_fakellm/admin-usage", json=overreport, timeout=10).status_code == 200
    assert import_usage(stack, "fake-openai", day)["changed"] == 2  # OpenAI now bills 5 % more than it served
    drifted = reconciliation(stack, day)
    flagged = {(line["provider"], line["model"]): line for line in drifted["data"] if line["drifted"]}
    assert set(flagged) == {("fake-openai", "fake-gpt"), ("fake-openai", "fake-gpt-mini")}
    for key, line in flagged.items():
        recorded = lines[key]["recorded_cost_micros"]
        assert line["recorded_cost_micros"] == recorded
        assert line["provider_cost_micros"] == -(-recorded * 105 // 100)
        assert 480 <= line["drift_bps"] <= 520, line
    assert (drifted["drifted"], drifted["new_drift_events"]) == (2, 2)
    assert reconciliation(stack, day)["new_drift_events"] == 0  # the same drift is reported once

    deadline = time.monotonic() + 30
    while len(events := asyncio.run(drift_events(stack, test_infra.nats_url))) < 2 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert sorted((e.provider, e.model, e.drift_bps, e.tolerance_bps) for e in events) == sorted(
        (p, m, line["drift_bps"], 200) for (p, m), line in flagged.items()
    )
    assert {e.day for e in events} == {day}
