"""The official OpenAI and Anthropic SDKs against the whole stack: only the base URL and the key change."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import anthropic
import httpx
import openai
import pytest

from tollway.testing.stack import RunningStack, wait_for_credit

HI = [{"role": "user", "content": "Say hello"}]
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


@pytest.fixture(scope="module")
def funded(stack: RunningStack) -> RunningStack:
    wait_for_credit(stack)
    return stack


def oa(stack: RunningStack, key: str | None = None) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{stack.base_url}/v1", api_key=key or stack.api_key, max_retries=0)


def an(stack: RunningStack, key: str | None = None) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=stack.base_url, api_key=key or stack.api_key, max_retries=0)


def test_openai_chat_plain_and_streamed(funded: RunningStack) -> None:
    client = oa(funded)
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=HI)  # type: ignore[arg-type]
    assert reply.choices[0].message.content
    assert reply.usage is not None
    assert reply.usage.completion_tokens > 0
    chunks = list(
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=HI,
            stream=True,  # type: ignore[arg-type]
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text
    assert chunks[-1].usage is not None


async def test_async_clients_of_both_sdks(funded: RunningStack) -> None:
    async with openai.AsyncOpenAI(base_url=f"{funded.base_url}/v1", api_key=funded.api_key, max_retries=0) as oac:
        reply = await oac.chat.completions.create(model="gpt-4o-mini", messages=HI)  # type: ignore[arg-type]
    async with anthropic.AsyncAnthropic(base_url=funded.base_url, api_key=funded.api_key, max_retries=0) as anc:
        message = await anc.messages.create(model="claude-3-5-haiku", max_tokens=64, messages=HI)  # type: ignore[arg-type]
    assert reply.choices[0].message.content
    assert message.content[0].type == "text"


def test_anthropic_messages_plain_and_streamed(funded: RunningStack) -> None:
    client = an(funded)
    message = client.messages.create(
        model="claude-3-5-haiku",
        max_tokens=64,
        messages=HI,  # type: ignore[arg-type]
        system="Be brief.",
    )
    assert message.content[0].type == "text"
    assert message.usage.output_tokens > 0
    with client.messages.stream(model="claude-3-5-haiku", max_tokens=64, messages=HI) as stream:  # type: ignore[arg-type]
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text
    assert final.stop_reason in ("end_turn", "max_tokens")


def test_each_api_can_call_a_model_served_by_the_other_provider(funded: RunningStack) -> None:
    via_openai = oa(funded).chat.completions.create(model="claude-3-5-haiku", messages=HI)  # type: ignore[arg-type]
    via_anthropic = an(funded).messages.create(model="gpt-4o-mini", max_tokens=64, messages=HI)  # type: ignore[arg-type]
    assert via_openai.choices[0].message.content
    assert via_anthropic.content[0].type == "text"


def test_tools_round_trip(funded: RunningStack) -> None:
    client = oa(funded)
    first = client.chat.completions.create(model="gpt-4o-mini", messages=HI, tools=[WEATHER])  # type: ignore[arg-type,list-item]
    call = (first.choices[0].message.tool_calls or [])[0]
    assert call.function.name == "get_weather"
    assert isinstance(json.loads(call.function.arguments), dict)
    followup = [
        *HI,
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "sunny"},
    ]
    second = client.chat.completions.create(model="gpt-4o-mini", messages=followup, tools=[WEATHER])  # type: ignore[arg-type,list-item]
    assert second.choices[0].message.content


def test_errors_surface_as_the_sdks_exception_classes(funded: RunningStack) -> None:
    with pytest.raises(openai.AuthenticationError):
        oa(funded, "tw_not_a_real_key").chat.completions.create(model="gpt-4o-mini", messages=HI)  # type: ignore[arg-type]
    with pytest.raises(anthropic.AuthenticationError):
        an(funded, "tw_not_a_real_key").messages.create(model="claude-3-5-haiku", max_tokens=8, messages=HI)  # type: ignore[arg-type]
    with pytest.raises(openai.NotFoundError, match="no-such-model"):
        oa(funded).chat.completions.create(model="no-such-model", messages=HI)  # type: ignore[arg-type]
    with pytest.raises(anthropic.NotFoundError):
        an(funded).messages.create(model="no-such-model", max_tokens=8, messages=HI)  # type: ignore[arg-type]
    with pytest.raises(openai.BadRequestError):
        oa(funded).chat.completions.create(model="gpt-4o-mini", messages="not a list")  # type: ignore[arg-type]
    malformed = httpx.post(
        f"{funded.base_url}/v1/chat/completions",
        content=b"{not json",
        headers={"authorization": f"Bearer {funded.api_key}", "content-type": "application/json"},
    )
    assert malformed.status_code == 400
    assert malformed.json()["error"]["message"]


def test_account_routes_are_forwarded_to_their_owners(funded: RunningStack) -> None:
    user = {"authorization": f"Bearer {funded.api_key}"}
    admin = {"authorization": f"Bearer {funded.admin_key}"}
    oa(funded).chat.completions.create(model="gpt-4o-mini", messages=HI)  # type: ignore[arg-type]

    def poll(path: str, done: Callable[[dict[str, Any]], bool], headers: dict[str, str]) -> dict[str, Any]:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            body: dict[str, Any] = httpx.get(f"{funded.base_url}{path}", headers=headers, timeout=10).json()
            if done(body):
                return body
            time.sleep(0.5)
        raise AssertionError(f"{path} never showed the expected state: {body}")

    debits = poll("/v1/credits/transactions?type=usage", lambda b: bool(b.get("data")), user)
    assert all(t["amount_micros"] < 0 for t in debits["data"])
    usage = poll("/v1/usage", lambda b: b.get("totals", {}).get("requests", 0) > 0, user)
    assert usage["totals"]["cost_micros"] > 0
    everyone = poll(f"/admin/v1/usage?user_id={funded.user_id}", lambda b: "totals" in b, admin)
    assert everyone["totals"]["requests"] >= usage["totals"]["requests"]
    before = httpx.get(f"{funded.base_url}/v1/credits/balance", headers=user).json()["balance_micros"]

    grant = {"amount_micros": 1_000_000, "description": "e2e top-up"}
    path = f"{funded.base_url}/admin/v1/accounts/{funded.user_id}/grants"
    first = httpx.post(path, json=grant, headers={**admin, "idempotency-key": "e2e-grant-1"})
    again = httpx.post(path, json=grant, headers={**admin, "idempotency-key": "e2e-grant-1"})
    other = httpx.post(path, json={**grant, "amount_micros": 2}, headers={**admin, "idempotency-key": "e2e-grant-1"})
    as_user = httpx.post(path, json=grant, headers={**user, "idempotency-key": "e2e-grant-2"})
    anonymous = httpx.get(f"{funded.base_url}/v1/credits/balance")

    assert first.status_code == 201, first.text
    assert again.json()["id"] == first.json()["id"]
    assert other.status_code == 409, other.text
    assert as_user.status_code == 401
    assert anonymous.status_code == 401
    after = httpx.get(f"{funded.base_url}/v1/credits/balance", headers=user).json()["balance_micros"]
    assert after >= before + 1_000_000 - 100_000  # requests in flight may have been debited meanwhile
    refund = httpx.post(f"{funded.base_url}/admin/v1/transactions/{debits['data'][0]['id']}/refund", headers=admin)
    refund_again = httpx.post(
        f"{funded.base_url}/admin/v1/transactions/{debits['data'][0]['id']}/refund", headers=admin
    )
    assert refund.status_code == 201, refund.text
    assert refund_again.status_code == 409, refund_again.text
