"""Fallback across deployments, Retry-After cooldowns, final failures — each with exactly one usage event."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.inference_router.usage_events import UsageEvents
from tollway.contracts import RequestCompletedV1, RequestFailedV1
from tollway.testing.stack import RouterUnderTest

BODY = {"messages": [{"role": "user", "content": "hello there"}]}


async def chat(router: RouterUnderTest, model: str, request_id: str, **extra: object) -> httpx.Response:
    async with httpx.AsyncClient(base_url=router.url, timeout=10) as client:
        return await client.post(
            "/internal/v1/chat", headers=router.headers(request_id), json={"model": model, **BODY, **extra}
        )


@pytest.mark.parametrize(("model", "provider"), [("fb-500", "backup"), ("fb-503", "claude"), ("fb-timeout", "backup")])
async def test_a_failing_primary_is_served_by_the_fallback(
    router: RouterUnderTest, usage_events: UsageEvents, model: str, provider: str
) -> None:
    response = await chat(router, model, f"req-{model}")

    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"].startswith("tok0")
    (event,) = await usage_events.of(f"req-{model}")
    assert isinstance(event, RequestCompletedV1)
    assert (event.provider, event.is_fallback, event.attempts) == (provider, True, 2)
    assert event.cost_micros > 0


async def test_retry_after_keeps_traffic_off_the_deployment_until_it_expires(
    router: RouterUnderTest, usage_events: UsageEvents
) -> None:
    first = await chat(router, "fb-429", "req-429-a")
    second = await chat(router, "fb-429", "req-429-b")

    assert (first.status_code, second.status_code) == (200, 200)
    assert router.upstream_calls("fake-c+status=429+retry_after=30") == 1
    (event,) = await usage_events.of("req-429-b")
    assert isinstance(event, RequestCompletedV1)
    assert (event.provider, event.is_fallback, event.attempts) == ("backup", True, 1)


async def test_every_deployment_failing_gives_one_failed_event_and_a_5xx(
    router: RouterUnderTest, usage_events: UsageEvents
) -> None:
    response = await chat(router, "all-fail", "req-all-fail")

    assert response.status_code == 502
    assert response.json()["error"]["message"]
    (event,) = await usage_events.of("req-all-fail")
    assert isinstance(event, RequestFailedV1)
    assert event.status_code == 502
    assert [(a.provider, a.status_code) for a in event.attempts] == [("primary", 503), ("backup", 500)]


async def test_a_request_the_upstream_rejects_is_not_retried_elsewhere(
    router: RouterUnderTest, usage_events: UsageEvents
) -> None:
    response = await chat(router, "bad-request", "req-bad")

    assert response.status_code == 400
    assert router.upstream_calls("fake-f") == 0
    (event,) = await usage_events.of("req-bad")
    assert isinstance(event, RequestFailedV1)
    assert event.error_class == "upstream_rejected"


async def test_unknown_model_and_invalid_body_answer_in_the_callers_format(
    router: RouterUnderTest, usage_events: UsageEvents
) -> None:
    async with httpx.AsyncClient(base_url=router.url) as client:
        missing = await client.post(
            "/internal/v1/chat",
            headers=router.headers("req-404", api="anthropic"),
            json={"model": "nope", "max_tokens": 10, **BODY},
        )
        invalid = await client.post(
            "/internal/v1/chat", headers=router.headers("req-400"), json={"model": "ok", "messages": "not a list"}
        )
        unsigned = await client.post("/internal/v1/chat", json={"model": "ok", **BODY})

    assert missing.status_code == 404
    assert missing.json()["type"] == "error"
    assert missing.json()["error"]["type"] == "not_found_error"
    assert invalid.status_code == 400
    assert invalid.json()["error"]["param"] == "messages"
    assert unsigned.status_code == 401
    assert len(await usage_events.of("req-404")) == 1
    assert len(await usage_events.of("req-400")) == 1
