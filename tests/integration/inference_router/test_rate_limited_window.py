"""Inside the upstreams' Retry-After window a route whose every deployment is cooling down answers 429, not 503."""

from __future__ import annotations

import httpx

from tests.integration.inference_router.usage_events import UsageEvents
from tollway.contracts import RequestFailedV1
from tollway.testing.stack import RouterUnderTest

BODY = {"model": "all-429", "max_tokens": 10, "messages": [{"role": "user", "content": "hello there"}]}


async def _post(router: RouterUnderTest, request_id: str, api: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=router.url, timeout=10) as client:
        return await client.post("/internal/v1/chat", headers=router.headers(request_id, api=api), json=BODY)


async def test_a_route_cooling_down_after_429s_answers_429_with_the_smallest_wait(
    router: RouterUnderTest, usage_events: UsageEvents
) -> None:
    first = await _post(router, "req-cool-1", "openai")  # both deployments answer 429 (Retry-After 30 and 20)
    cooling = await _post(router, "req-cool-2", "openai")
    cooling_anthropic = await _post(router, "req-cool-3", "anthropic")

    assert (first.status_code, first.headers["retry-after"]) == (429, "20")
    assert cooling.status_code == 429, cooling.text
    assert 19 <= int(cooling.headers["retry-after"]) <= 20  # what is left of the shorter window, rounded up
    assert cooling.json()["error"]["type"] == "rate_limit_error"
    assert cooling_anthropic.status_code == 429
    assert 19 <= int(cooling_anthropic.headers["retry-after"]) <= 20
    assert cooling_anthropic.json()["error"]["type"] == "rate_limit_error"
    assert router.upstream_calls("fake-r1+status=429+retry_after=30") == 1  # nothing was sent while cooling
    assert router.upstream_calls("fake-r2+status=429+retry_after=20") == 1
    (event,) = await usage_events.of("req-cool-2")
    assert isinstance(event, RequestFailedV1)
    assert (event.status_code, event.error_class, event.attempts) == (429, "rate_limited", ())
