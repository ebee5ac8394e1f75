"""The whole stack as `make run` starts it: coupons, bulk grants, reports and statements through the gateway."""

from __future__ import annotations

import asyncio
import csv
import io
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tollway.testing.infra import LocalInfra
from tollway.testing.processes import assert_billing_verifies, service_env
from tollway.testing.stack import RunningStack, running_stack


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


def balance(stack: RunningStack, user: dict[str, str]) -> int:
    answer = httpx.get(f"{stack.base_url}/v1/credits/balance", headers=user, timeout=10)
    assert answer.status_code == 200, answer.text
    return int(answer.json()["balance_micros"])


def eventually_balance(stack: RunningStack, user: dict[str, str], at_least: int) -> int:
    deadline = time.monotonic() + 30
    while (current := balance(stack, user)) < at_least and time.monotonic() < deadline:
        time.sleep(0.3)
    return current


def test_coupon_bulk_grant_and_statement_through_the_gateway(
    stack: RunningStack, migrated_database_url: str, test_infra: LocalInfra
) -> None:
    base, month = stack.base_url, datetime.now(UTC).strftime("%Y-%m")
    admin = {"authorization": f"Bearer {stack.admin_key}"}
    user = {"authorization": f"Bearer {stack.api_key}"}
    code = f"E2E{uuid.uuid4().hex[:8]}".upper()
    before = eventually_balance(stack, user, 1)  # the demo user's trial or seed credit has landed

    created = httpx.post(f"{base}/admin/v1/coupons", json={"code": code.lower(), "value_micros": 2_000_000,
                         "max_uses": 1}, headers={**admin, "idempotency-key": code}, timeout=10)  # fmt: skip
    assert created.status_code == 201, created.text
    available = httpx.get(f"{base}/v1/coupons/available", headers=user, timeout=10).json()["data"]
    assert code in {c["code"] for c in available}
    redeemed = httpx.post(f"{base}/v1/coupons/redeem", json={"code": code}, headers={**user, "idempotency-key": "r"},
                          timeout=10)  # fmt: skip
    assert redeemed.status_code == 201, redeemed.text
    assert redeemed.json()["amount_micros"] == 2_000_000
    again = httpx.post(f"{base}/v1/coupons/redeem", json={"code": code}, headers={**user, "idempotency-key": "r2"},
                       timeout=10)  # fmt: skip
    assert again.status_code == 409

    bulk = httpx.post(f"{base}/admin/v1/grants/bulk", json={"user_ids": [stack.user_id, stack.user_id],
                      "amount_micros": 1_000_000}, headers={**admin, "idempotency-key": f"bulk-{code}"},
                      timeout=10)  # fmt: skip
    assert (bulk.status_code, bulk.json()["succeeded"], bulk.json()["unique"]) == (201, 1, 1)
    # The balances bucket carries the new balance back to the gateway's credit gate.
    assert eventually_balance(stack, user, before + 3_000_000 - 100_000) >= before + 2_900_000

    statement = httpx.get(f"{base}/admin/v1/accounts/{stack.user_id}/statement", params={"month": month,
                          "format": "csv"}, headers=admin, timeout=10)  # fmt: skip
    assert statement.status_code == 200, statement.text
    rows = list(csv.DictReader(io.StringIO(statement.text)))
    assert {"coupon", "grant"} <= {r["type"] for r in rows}
    opening, closing = int(rows[0]["balance_after_micros"]), int(rows[-1]["balance_after_micros"])
    assert opening + sum(int(r["amount_micros"]) for r in rows[1:-1]) == closing
    summary = httpx.get(f"{base}/v1/credits/summary", headers=user, timeout=10).json()
    assert summary["balance_micros"] >= closing - 100_000  # usage may land in between
    trials = httpx.get(f"{base}/admin/v1/trials/analytics", headers=admin, timeout=10)
    assert trials.status_code == 200, trials.text
    listed = httpx.get(f"{base}/admin/v1/transactions", params={"user_id": stack.user_id, "type": "coupon"},
                       headers=admin, timeout=10).json()  # fmt: skip
    assert [t["amount_micros"] for t in listed["data"]] == [2_000_000]

    env = service_env("billing", database_url=migrated_database_url, nats_url=test_infra.nats_url,
                      redis_url=test_infra.redis_url, namespace=f"stack{stack.offset}")  # fmt: skip
    asyncio.run(assert_billing_verifies({**env, "TOLLWAY_ENV": "development"}))
