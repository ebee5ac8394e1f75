"""Anthropic streams through the router: ``message_start`` carries the prompt's tokens whatever the upstream's shape."""

from __future__ import annotations

import anthropic
import httpx2
import pytest

from tollway.testing.stack import RouterUnderTest

PROMPT = [{"role": "user", "content": "Tell me about the tolls on this road, in some detail please."}]


def _client(router: RouterUnderTest) -> anthropic.AsyncAnthropic:
    """The official SDK, its ``/v1/messages`` calls sent to the router's internal route with a signed identity."""

    async def to_internal_route(request: httpx2.Request) -> None:
        request.url = request.url.copy_with(path="/internal/v1/chat")
        request.headers.update(router.headers(api="anthropic"))

    http = httpx2.AsyncClient(event_hooks={"request": [to_internal_route]})
    return anthropic.AsyncAnthropic(base_url=router.url, api_key="unused", http_client=http, max_retries=0)


@pytest.mark.parametrize("model", ["ok", "claude-ok"], ids=["openai-shaped upstream", "anthropic upstream"])
async def test_message_start_reports_input_tokens(router: RouterUnderTest, model: str) -> None:
    client = _client(router)
    async with client.messages.stream(model=model, max_tokens=50, messages=PROMPT) as stream:  # type: ignore[arg-type]
        events = [event async for event in stream]
        final = await stream.get_final_message()
    await client.close()

    start = events[0]
    assert start.type == "message_start"
    assert start.message.usage.input_tokens > 0
    assert final.usage.output_tokens > 0
    assert final.usage.input_tokens > 0
