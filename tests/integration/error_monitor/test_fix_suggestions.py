"""Fix suggestions on real Postgres, asked of fakellm's OpenAI endpoint as the gateway would answer them: stored,
listed, replayed under an Idempotency-Key, and every gateway failure an OpenAI-shaped 502/503/504."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from nats.aio.client import Client as NatsClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tollway.contracts import ErrorReportedV1
from tollway.error_monitor import handlers
from tollway.error_monitor.app import create_app
from tollway.error_monitor.db.repositories import SqlAlchemyErrorLog
from tollway.error_monitor.db.tables import fix_suggestions, patterns
from tollway.error_monitor.settings import ErrorMonitorSettings
from tollway.platform.identity import Identity, Role, sign_identity
from tollway.platform.messaging import Namespace
from tollway.testing.infra import LocalInfra
from tollway.testing.processes import free_port
from tollway.testing.stack import start_fakellm

SECRET = "error-monitor-test-secret"
KEY = "tw_suggest_key_for_tests_0123456789"
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2)
LEAKY = "redis timeout talking to cache with Bearer abc.def-123 and sk-live_0123456789abcdef after 5s"
Client = AsyncTestClient[Litestar]
ClientFactory = Callable[..., AbstractAsyncContextManager[Client]]


def signed(role: Role = "admin", user_id: str | None = "admin-key:1a2b3c4d") -> dict[str, str]:
    return sign_identity(Identity(request_id="req-test", role=role, user_id=user_id), SECRET.encode())


@pytest.fixture(scope="module")
def fakellm() -> Iterator[str]:
    process, url = start_fakellm()
    yield url
    process.stop()


@pytest.fixture
def client_for(
    database_url: str, test_infra: LocalInfra, namespace: Namespace, nc: NatsClient, fakellm: str
) -> ClientFactory:
    @asynccontextmanager
    async def started(**suggest: Any) -> AsyncIterator[Client]:
        options = {"gateway_url": fakellm, "api_key": KEY, "model": "fake-gpt", "timeout_s": 5.0} | suggest
        settings = ErrorMonitorSettings(
            database_url=database_url,
            nats_url=test_infra.nats_url,
            namespace=namespace.prefix,
            internal_secret=SECRET,
            **{f"suggest_{name}": value for name, value in options.items()},
        )
        async with AsyncTestClient(create_app(settings)) as client:
            yield client

    return started


@pytest.fixture
async def pattern(engine: AsyncEngine) -> str:
    log = SqlAlchemyErrorLog(engine)
    reports = [
        ErrorReportedV1(occurred_at=T0 + timedelta(seconds=i), service="gateway", kind="cache", message=LEAKY)
        for i in range(3)
    ]
    await handlers.record_error_reports(reports, log, "gateway")
    async with engine.connect() as conn:
        found: str = (await conn.execute(select(patterns.c.id))).scalar_one()
    return found


async def fake_says(fakellm: str, path: str) -> Any:
    async with httpx.AsyncClient(base_url=fakellm) as fake:
        return (await fake.get(path)).json()


async def asked(fakellm: str, model: str = "fake-gpt") -> int:
    stats = (await fake_says(fakellm, "/_fakellm/stats"))["requests"]
    return int(stats.get("/v1/chat/completions", {}).get(model, 0))


async def test_a_suggestion_is_asked_once_stored_and_listed_without_secrets(
    client_for: ClientFactory, pattern: str, fakellm: str, engine: AsyncEngine
) -> None:
    before = await asked(fakellm)
    async with client_for() as client:
        answer = await client.post(f"/admin/v1/errors/patterns/{pattern}/suggest-fix", headers=signed())
        assert answer.status_code == 201, answer.text
        made = answer.json()
        listed = await client.get(f"/admin/v1/errors/patterns/{pattern}/suggestions", headers=signed())
    assert await asked(fakellm) == before + 1
    assert made["object"] == "error_pattern.fix_suggestion"
    assert (made["pattern_id"], made["model"], made["requested_by"]) == (pattern, "fake-gpt", "admin-key:1a2b3c4d")
    assert made["suggestion"].startswith("tok0 tok1")
    assert made["prompt_tokens"] > 0
    assert made["completion_tokens"] == 20
    assert "idempotent-replayed" not in answer.headers
    assert listed.json() == {"object": "list", "pattern_id": pattern, "data": [made]}

    sent = (await fake_says(fakellm, "/_fakellm/requests"))["/v1/chat/completions"]
    assert sent["headers"]["authorization"] == f"Bearer {KEY}"
    assert sent["body"]["model"] == "fake-gpt"
    prompt = "\n".join(message["content"] for message in sent["body"]["messages"])
    assert f"Error pattern {pattern}" in prompt
    assert "type: cache" in prompt
    assert "severity: medium (category TIMEOUT_ERROR, fixable: yes)" in prompt
    assert prompt.count("level=error") == 3  # the recent occurrences
    assert "sk-live" not in prompt
    assert "abc.def" not in prompt
    assert "[REDACTED]" in prompt
    async with engine.connect() as conn:
        stored = (await conn.execute(select(fix_suggestions))).one()
    assert (stored.id, stored.suggestion) == (made["id"], made["suggestion"])


async def test_an_idempotency_key_replays_the_stored_suggestion_without_asking_again(
    client_for: ClientFactory, pattern: str, fakellm: str, engine: AsyncEngine
) -> None:
    key = {"idempotency-key": "suggest-once"}
    async with client_for() as client:
        first = await client.post(f"/admin/v1/errors/patterns/{pattern}/suggest-fix", headers=signed() | key)
        count = await asked(fakellm)
        again = await client.post(f"/admin/v1/errors/patterns/{pattern}/suggest-fix", headers=signed() | key)
        elsewhere = await client.post("/admin/v1/errors/patterns/pat_other/suggest-fix", headers=signed() | key)
        bad_key = await client.post(
            f"/admin/v1/errors/patterns/{pattern}/suggest-fix", headers=signed() | {"idempotency-key": " "}
        )
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert await asked(fakellm) == count
    assert elsewhere.status_code == 409
    assert elsewhere.json()["error"]["param"] == "Idempotency-Key"
    assert (bad_key.status_code, bad_key.json()["error"]["param"]) == (422, "Idempotency-Key")
    async with engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(fix_suggestions))).scalar_one() == 1


async def test_without_settings_the_route_says_which_to_set(client_for: ClientFactory, pattern: str) -> None:
    async with client_for(gateway_url="", api_key="") as client:
        answer = await client.post(f"/admin/v1/errors/patterns/{pattern}/suggest-fix", headers=signed())
    assert answer.status_code == 503
    error = answer.json()["error"]
    assert error["code"] == "suggestions_not_configured"
    for name in ("ERROR_MONITOR_SUGGEST_GATEWAY_URL", "ERROR_MONITOR_SUGGEST_API_KEY", "ERROR_MONITOR_SUGGEST_MODEL"):
        assert name in error["message"]


@pytest.mark.parametrize(
    ("suggest", "status", "code"),
    [
        ({"model": "fake-gpt+status=401"}, 502, "bad_gateway"),  # e.g. the key was revoked
        ({"model": "fake-gpt+status=503"}, 503, "gateway_unavailable"),
        ({"model": "fake-gpt+status=429+retry_after=1"}, 503, "gateway_unavailable"),
        ({"model": "fake-gpt+latency=3000", "timeout_s": 0.5}, 504, "gateway_timeout"),
        ({"gateway_url": "http://127.0.0.1:{port}"}, 503, "gateway_unavailable"),
        ({"model": "fake-gpt+tokens=0"}, 502, "bad_gateway"),  # an empty answer is no advice
    ],
)
async def test_gateway_failures_are_gateway_errors_and_store_nothing(
    client_for: ClientFactory, pattern: str, engine: AsyncEngine, suggest: dict[str, Any], status: int, code: str
) -> None:
    if "gateway_url" in suggest:
        suggest = {"gateway_url": suggest["gateway_url"].format(port=free_port())}  # nothing listens there
    async with client_for(**suggest) as client:
        answer = await client.post(f"/admin/v1/errors/patterns/{pattern}/suggest-fix", headers=signed())
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert (error["type"], error["code"]) == ("api_error", code)
    assert error["message"]
    assert KEY not in answer.text
    async with engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(fix_suggestions))).scalar_one() == 0


async def test_only_admins_and_only_known_patterns(client_for: ClientFactory, pattern: str) -> None:
    path = f"/admin/v1/errors/patterns/{pattern}/suggest-fix"
    async with client_for() as client:
        assert (await client.post(path)).status_code == 401
        assert (await client.post(path, headers=signed("user"))).status_code == 403
        listing = f"/admin/v1/errors/patterns/{pattern}/suggestions"
        assert (await client.get(listing, headers=signed("user"))).status_code == 403
        unknown = await client.post("/admin/v1/errors/patterns/pat_nope/suggest-fix", headers=signed())
        assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "not_found")
        listed = await client.get("/admin/v1/errors/patterns/pat_nope/suggestions", headers=signed())
        assert listed.status_code == 404
        empty = await client.get(f"/admin/v1/errors/patterns/{pattern}/suggestions", headers=signed())
        assert empty.json()["data"] == []
