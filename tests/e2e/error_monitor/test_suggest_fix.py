"""A fix suggestion on the whole stack: an error reported over NATS becomes a pattern; through the gateway, the
stack's unconfigured error_monitor says which settings to set; an error_monitor configured with the demo key asks
Tollway's own gateway, and its question is a recorded request of that key like any other."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tollway.contracts import ErrorReportedV1, error_subject
from tollway.platform.identity import Identity
from tollway.platform.messaging import JetStreamPublisher, Namespace, connect_nats
from tollway.testing.infra import LocalInfra
from tollway.testing.processes import free_port, service_env, service_process
from tollway.testing.stack import RunningStack, running_stack, signed, wait_for_credit, wait_http

MESSAGE = "redis timeout after 5s while reading the rate limit bucket"


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


def admin(stack: RunningStack) -> dict[str, str]:
    return {"authorization": f"Bearer {stack.admin_key}"}


async def report_error(nats_url: str, namespace: str) -> None:
    nc = await connect_nats(nats_url, "suggest-e2e")
    try:
        report = ErrorReportedV1(service="gateway", kind="cache", message=MESSAGE, severity="error")
        await JetStreamPublisher(nc.jetstream(), Namespace(namespace)).publish(report, error_subject("gateway"))
    finally:
        await nc.close()


def wait_for_pattern(stack: RunningStack, within: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = httpx.get(
            f"{stack.base_url}/admin/v1/errors/patterns",
            params={"service": "gateway"},
            headers=admin(stack),
            timeout=10,
        )
        assert found.status_code == 200, found.text
        if found.json()["data"]:
            pattern: dict[str, Any] = found.json()["data"][0]
            return pattern
        time.sleep(0.5)
    raise AssertionError("the reported error never became a pattern")


def recorded_request(stack: RunningStack, request_id: str, within: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        page = httpx.get(
            f"{stack.base_url}/admin/v1/requests",
            params={"user_id": stack.user_id, "model": "gpt-4o-mini", "limit": "100"},
            headers=admin(stack),
            timeout=10,
        )
        assert page.status_code == 200, page.text
        rows = [row for row in page.json()["data"] if row["request_id"] == request_id]
        if rows:
            row: dict[str, Any] = rows[0]
            return row
        time.sleep(0.5)
    raise AssertionError(f"analytics never recorded the suggestion's request {request_id}")


def test_a_suggestion_goes_through_tollways_gateway_with_the_operators_key(
    stack: RunningStack, test_infra: LocalInfra, migrated_database_url: str
) -> None:
    namespace = f"stack{stack.offset}"
    wait_for_credit(stack)
    asyncio.run(report_error(test_infra.nats_url, namespace))
    pattern = wait_for_pattern(stack)
    suggest_path = f"/admin/v1/errors/patterns/{pattern['id']}/suggest-fix"

    unconfigured = httpx.post(f"{stack.base_url}{suggest_path}", headers=admin(stack), timeout=30)
    assert unconfigured.status_code == 503, unconfigured.text
    assert "ERROR_MONITOR_SUGGEST_API_KEY" in unconfigured.json()["error"]["message"]
    assert httpx.post(f"{stack.base_url}{suggest_path}", timeout=30).status_code == 401  # the admin guard

    port = free_port()
    env = service_env(
        "error_monitor",
        database_url=migrated_database_url,
        nats_url=test_infra.nats_url,
        redis_url=test_infra.redis_url,
        namespace=namespace,
        PORT=str(port),
        SUGGEST_GATEWAY_URL=stack.base_url,
        SUGGEST_API_KEY=stack.api_key,
        SUGGEST_MODEL="gpt-4o-mini",
    )
    configured = service_process("error_monitor", "serve", env).start()
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/ready", configured)
        operator = signed(Identity(request_id=f"req_{uuid.uuid4().hex}", role="admin", user_id="admin-key:e2e"))
        key = {"idempotency-key": f"suggest-{uuid.uuid4().hex}"}
        first = httpx.post(f"{url}{suggest_path}", headers=operator | key, timeout=60)
        assert first.status_code == 201, first.text
        again = httpx.post(f"{url}{suggest_path}", headers=operator | key, timeout=60)
    finally:
        configured.stop()
    made = first.json()
    assert (again.json(), again.headers["idempotent-replayed"]) == (made, "true")
    assert (made["model"], made["requested_by"]) == ("gpt-4o-mini", "admin-key:e2e")
    assert made["suggestion"].startswith("tok0")

    row = recorded_request(stack, made["gateway_request_id"])
    assert (row["status"], row["requested_model"], row["prompt_tokens"]) == ("ok", "gpt-4o-mini", made["prompt_tokens"])
    assert row["cost_micros"] > 0  # the operator's key pays for its questions like any other caller
    listed = httpx.get(
        f"{stack.base_url}/admin/v1/errors/patterns/{pattern['id']}/suggestions", headers=admin(stack), timeout=10
    )
    assert listed.status_code == 200, listed.text
    assert listed.json()["data"] == [made]  # asked once: the replay did not ask again
