"""The official OpenAI, Anthropic and google-genai SDKs and botocore's bedrock-runtime client against the whole
stack: only the base URL and the key change."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import anthropic
import botocore.session
import httpx
import openai
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from google import genai
from google.genai import errors, types
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tollway.testing.processes import eventually
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


def gemini(stack: RunningStack, key: str | None = None) -> genai.Client:
    options = types.HttpOptions(base_url=stack.base_url, retry_options=types.HttpRetryOptions(attempts=1))
    return genai.Client(api_key=key or stack.api_key, http_options=options)


def bedrock(stack: RunningStack, key: str | None = None) -> Any:
    """botocore signs with SigV4; the Tollway key is the access key id and the secret is not checked (ADR 010)."""
    return botocore.session.get_session().create_client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=stack.base_url,
        aws_access_key_id=key or stack.api_key,
        aws_secret_access_key="not-checked",
        config=Config(retries={"total_max_attempts": 1}),
    )


@pytest.fixture
async def stack_db(migrated_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(migrated_database_url)
    yield engine
    await engine.dispose()


async def usage_debits(engine: AsyncEngine, user_id: str) -> list[tuple[str, int]]:
    query = text(
        "SELECT t.metadata->>'request_id', -t.amount_micros FROM billing.transactions t "
        "JOIN billing.accounts a ON a.id = t.account_id WHERE a.user_id = :user AND t.type = 'usage'"
    )
    async with engine.connect() as conn:
        return [(str(request_id), int(amount)) for request_id, amount in await conn.execute(query, {"user": user_id})]


def _gemini_calls(stack: RunningStack) -> list[str]:
    weather = types.FunctionDeclaration(name="get_weather", parameters_json_schema=WEATHER["function"]["parameters"])  # type: ignore[index]
    tools = types.GenerateContentConfig(
        tools=[types.Tool(function_declarations=[weather])],
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    )
    with gemini(stack) as client:
        plain = client.models.generate_content(model="gemini-2.0-flash", contents="Say hello")
        chunks = list(client.models.generate_content_stream(model="claude-3-5-haiku", contents="Say hello"))
        called = client.models.generate_content(model="gpt-4o-mini", contents="Weather in Oslo?", config=tools)
    assert plain.text
    assert plain.usage_metadata is not None
    assert (plain.usage_metadata.candidates_token_count or 0) > 0
    assert "".join(chunk.text or "" for chunk in chunks)
    assert chunks[-1].candidates is not None
    assert chunks[-1].candidates[0].finish_reason is not None
    assert [call.name for call in called.function_calls or []] == ["get_weather"]
    answers = [plain, chunks[-1], called]
    return [
        a.sdk_http_response.headers["x-request-id"]
        for a in answers
        if a.sdk_http_response and a.sdk_http_response.headers
    ]


def _bedrock_calls(stack: RunningStack) -> list[str]:
    client = bedrock(stack)
    messages = [{"role": "user", "content": [{"text": "Say hello"}]}]
    plain = client.converse(modelId="gpt-4o-mini", messages=messages, system=[{"text": "Be brief."}])
    streamed = client.converse_stream(modelId="claude-3-5-haiku", messages=messages, inferenceConfig={"maxTokens": 5})
    events = list(streamed["stream"])
    assert plain["output"]["message"]["content"][0]["text"]
    assert plain["usage"]["totalTokens"] == plain["usage"]["inputTokens"] + plain["usage"]["outputTokens"]
    text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e)
    assert text == "tok0 tok1 tok2 tok3 tok4"
    assert events[-1]["metadata"]["usage"]["outputTokens"] == 5
    return [answer["ResponseMetadata"]["HTTPHeaders"]["x-request-id"] for answer in (plain, streamed)]


async def test_google_genai_and_botocore_are_served_and_each_request_is_debited_once(
    funded: RunningStack, stack_db: AsyncEngine
) -> None:
    request_ids = _gemini_calls(funded) + _bedrock_calls(funded)
    assert len(set(request_ids)) == 5

    async def all_debited() -> bool:
        return set(request_ids) <= {request_id for request_id, _ in await usage_debits(stack_db, funded.user_id)}

    await eventually(all_debited, within=30, what="a debit for every Gemini- and Bedrock-shaped request")
    debits = [
        (request_id, amount)
        for request_id, amount in await usage_debits(stack_db, funded.user_id)
        if request_id in request_ids
    ]
    assert sorted(request_id for request_id, _ in debits) == sorted(request_ids)  # once each, never twice
    assert all(amount > 0 for _, amount in debits)


def test_gemini_and_bedrock_errors_surface_as_their_clients_exceptions(funded: RunningStack) -> None:
    with gemini(funded, "tw_not_a_real_key") as client, pytest.raises(errors.ClientError) as gemini_401:
        client.models.generate_content(model="gemini-2.0-flash", contents="hi")
    with gemini(funded) as client, pytest.raises(errors.ClientError) as gemini_404:
        client.models.generate_content(model="no-such-model", contents="hi")
    with pytest.raises(ClientError) as bedrock_401:
        bedrock(funded, "tw_not_a_real_key").converse(modelId="gpt-4o-mini", messages=[])
    with pytest.raises(ClientError) as bedrock_404:
        bedrock(funded).converse(modelId="no-such-model", messages=[{"role": "user", "content": [{"text": "hi"}]}])

    assert (gemini_401.value.code, gemini_401.value.status) == (401, "UNAUTHENTICATED")
    assert (gemini_404.value.code, gemini_404.value.status) == (404, "NOT_FOUND")
    assert bedrock_401.value.response["Error"]["Code"] == "UnrecognizedClientException"
    assert bedrock_404.value.response["Error"]["Code"] == "ResourceNotFoundException"
