"""Every public inference route through the whole stack: official clients accept the answers, one debit each.

The seed system's lesson (seed 002): a route that skipped usage tracking served for free. The route table here is
compared with the gateway's own, so a new inference route without a case here fails this test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import botocore.session
import httpx
import msgspec
import openai
import pytest
from botocore.config import Config
from google import genai
from google.genai import types
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tollway.gateway.api.inference_routes import INFERENCE_HOT_ROUTES
from tollway.gateway.api.public import HOT_ROUTES
from tollway.gateway.domain.native_envelopes import NATIVE_ROUTES
from tollway.testing.processes import eventually
from tollway.testing.stack import RunningStack, wait_for_credit

HI = [{"role": "user", "content": "Say hello"}]
Call = Callable[[RunningStack], str]  # makes one request, checks its answer, returns its x-request-id


@pytest.fixture(scope="module")
def funded(stack: RunningStack) -> RunningStack:
    wait_for_credit(stack)
    return stack


@pytest.fixture
async def stack_db(migrated_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(migrated_database_url)
    yield engine
    await engine.dispose()


async def debits_by_request(engine: AsyncEngine, user_id: str) -> dict[str, int]:
    """The user's usage debits by request id; a request id debited twice fails here."""
    query = text(
        "SELECT t.metadata->>'request_id', -t.amount_micros FROM billing.transactions t "
        "JOIN billing.accounts a ON a.id = t.account_id WHERE a.user_id = :user AND t.type = 'usage'"
    )
    async with engine.connect() as conn:
        found = (await conn.execute(query, {"user": user_id})).all()
    debits = {str(key): int(value) for key, value in found}
    assert len(debits) == len(found), "a request id was debited twice"
    return debits


def _oa(stack: RunningStack) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{stack.base_url}/v1", api_key=stack.api_key, max_retries=0)


def chat(stack: RunningStack) -> str:
    raw = _oa(stack).chat.completions.with_raw_response.create(model="gemini-2.0-flash", messages=HI, max_tokens=20)  # type: ignore[arg-type]
    assert raw.parse().choices[0].message.content  # served by the Gemini provider, answered as OpenAI chat
    return raw.headers["x-request-id"]


def code_routed_chat(stack: RunningStack) -> str:
    raw = _oa(stack).chat.completions.with_raw_response.create(model="router:code:price", messages=HI, max_tokens=20)  # type: ignore[arg-type]
    assert raw.parse().model == "gpt-4o-mini"  # a trivial prompt, price mode: tier 1
    return raw.headers["x-request-id"]


def messages(stack: RunningStack) -> str:
    body = {"model": "claude-3-5-haiku", "max_tokens": 20, "messages": HI}
    response = httpx.post(f"{stack.base_url}/v1/messages", json=body, headers={"x-api-key": stack.api_key}, timeout=10)
    assert response.status_code == 200, response.text
    return response.headers["x-request-id"]


def responses(stack: RunningStack) -> str:
    raw = _oa(stack).responses.with_raw_response.create(
        model="gpt-4o-mini", input="Say hello", instructions="Be brief.", max_output_tokens=20
    )
    answer = raw.parse()
    assert answer.output_text.startswith("tok0")
    assert answer.usage is not None
    assert answer.usage.output_tokens == 20
    return raw.headers["x-request-id"]


def responses_streamed(stack: RunningStack) -> str:
    with _oa(stack).responses.with_streaming_response.create(
        model="gemini-2.0-flash", input=[{"role": "user", "content": "Say hello"}], stream=True, max_output_tokens=20
    ) as raw:
        events = list(raw.parse())
        request_id = raw.headers["x-request-id"]
    kinds = [event.type for event in events]
    assert kinds[0] == "response.created"
    assert kinds[-1] == "response.completed"
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text.startswith("tok0 tok1")
    final = events[-1].response  # type: ignore[union-attr]
    assert final.usage is not None
    assert final.output_text == text
    return request_id


def completions(stack: RunningStack) -> str:
    raw = _oa(stack).completions.with_raw_response.create(model="gpt-4o-mini", prompt="Say hello", max_tokens=5)
    answer = raw.parse()
    assert (answer.choices[0].text, answer.choices[0].finish_reason) == ("tok0 tok1 tok2 tok3 tok4", "length")
    return raw.headers["x-request-id"]


def completions_streamed(stack: RunningStack) -> str:
    with _oa(stack).completions.with_streaming_response.create(
        model="gpt-4o-mini", prompt="Say hello", max_tokens=5, stream=True, stream_options={"include_usage": True}
    ) as raw:
        chunks = list(raw.parse())
        request_id = raw.headers["x-request-id"]
    assert "".join(c.choices[0].text for c in chunks if c.choices) == "tok0 tok1 tok2 tok3 tok4"
    assert chunks[-1].usage is not None
    return request_id


def embeddings(stack: RunningStack) -> str:
    raw = _oa(stack).embeddings.with_raw_response.create(model="text-embedding-3-small", input=["hello", "world"])
    answer = raw.parse()
    assert answer.model == "text-embedding-3-small"  # the public id, never the upstream's
    assert [len(item.embedding) for item in answer.data] == [8, 8]
    return raw.headers["x-request-id"]


def ai_sdk(stack: RunningStack, path: str = "/api/chat/ai-sdk", stream: bool = True) -> str:
    body = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "hi", "parts": [{"type": "text", "text": "hi"}]}],
    }
    headers = {"authorization": f"Bearer {stack.api_key}"}
    response = httpx.post(f"{stack.base_url}{path}", json={**body, "stream": stream}, headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    if stream:
        assert response.headers["x-vercel-ai-data-stream"] == "v1"
        lines = response.text.splitlines()
        assert lines[0].startswith("f:")
        assert "".join(msgspec.json.decode(line[2:]) for line in lines if line.startswith("0:")).startswith("tok0")
        finish = msgspec.json.decode(lines[-1][2:])
        assert lines[-1].startswith("d:")
        assert finish["finishReason"] == "stop"
        assert finish["usage"]["completionTokens"] == 20
    else:
        assert response.json()["content"].startswith("tok0")
    return response.headers["x-request-id"]


def ai_sdk_whole(stack: RunningStack) -> str:
    return ai_sdk(stack, "/api/chat/ai-sdk-completions", stream=False)


def _gemini(stack: RunningStack, version: str) -> genai.Client:
    options = types.HttpOptions(
        base_url=stack.base_url, api_version=version, retry_options=types.HttpRetryOptions(attempts=1)
    )
    return genai.Client(api_key=stack.api_key, http_options=options)


def _gemini_request_id(response: types.GenerateContentResponse) -> str:
    assert response.sdk_http_response is not None
    assert response.sdk_http_response.headers is not None
    return response.sdk_http_response.headers["x-request-id"]


def gemini_generate(stack: RunningStack, version: str = "v1beta") -> str:
    with _gemini(stack, version) as client:
        answer = client.models.generate_content(model="gemini-2.0-flash", contents="Say hello")
    assert answer.text
    assert answer.text.startswith("tok0")
    return _gemini_request_id(answer)


def gemini_stream(stack: RunningStack, version: str = "v1beta") -> str:
    with _gemini(stack, version) as client:
        config = types.GenerateContentConfig(max_output_tokens=5)
        chunks = list(client.models.generate_content_stream(model="gpt-4o-mini", contents="Say hello", config=config))
    assert "".join(chunk.text or "" for chunk in chunks) == "tok0 tok1 tok2 tok3 tok4"
    assert chunks[-1].usage_metadata is not None
    return _gemini_request_id(chunks[-1])


def _bedrock(stack: RunningStack) -> Any:
    # The Tollway key as the AWS access key id; Tollway cannot check the secret (docs/adr/010-providers.md).
    return botocore.session.get_session().create_client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=stack.base_url,
        aws_access_key_id=stack.api_key,
        aws_secret_access_key="unused",
        config=Config(retries={"total_max_attempts": 1}),
    )


def bedrock_converse(stack: RunningStack) -> str:
    messages = [{"role": "user", "content": [{"text": "Say hello"}]}]
    answer = _bedrock(stack).converse(modelId="claude-3-5-haiku", messages=messages, inferenceConfig={"maxTokens": 9})
    assert answer["output"]["message"]["content"][0]["text"].startswith("tok0")
    assert answer["usage"]["outputTokens"] == 9
    request_id: str = answer["ResponseMetadata"]["HTTPHeaders"]["x-request-id"]
    return request_id


def bedrock_converse_stream(stack: RunningStack) -> str:
    messages = [{"role": "user", "content": [{"text": "Say hello"}]}]
    answer = _bedrock(stack).converse_stream(modelId="gemini-2.0-flash", messages=messages)
    events = list(answer["stream"])
    assert [next(iter(e)) for e in events[-2:]] == ["messageStop", "metadata"]
    assert events[-1]["metadata"]["usage"]["outputTokens"] > 0
    request_id: str = answer["ResponseMetadata"]["HTTPHeaders"]["x-request-id"]
    return request_id


def gemini_v1_generate(stack: RunningStack) -> str:
    return gemini_generate(stack, "v1")


def gemini_v1_stream(stack: RunningStack) -> str:
    return gemini_stream(stack, "v1")


CASES: dict[str, list[Call]] = {
    "/v1/chat/completions": [chat, code_routed_chat],
    "/v1/messages": [messages],
    "/v1/responses": [responses, responses_streamed],
    "/v1/completions": [completions, completions_streamed],
    "/v1/embeddings": [embeddings],
    "/api/chat/ai-sdk": [ai_sdk],
    "/api/chat/ai-sdk-completions": [ai_sdk_whole],
    "/v1beta/models/{model}:generateContent": [gemini_generate],
    "/v1beta/models/{model}:streamGenerateContent": [gemini_stream],
    "/v1/models/{model}:generateContent": [gemini_v1_generate],
    "/v1/models/{model}:streamGenerateContent": [gemini_v1_stream],
    "/model/{modelId}/converse": [bedrock_converse],
    "/model/{modelId}/converse-stream": [bedrock_converse_stream],
}


def test_every_inference_route_has_a_case() -> None:
    assert set(CASES) == set(HOT_ROUTES) | set(INFERENCE_HOT_ROUTES) | set(NATIVE_ROUTES)


async def test_each_inference_request_is_debited_exactly_once(funded: RunningStack, stack_db: AsyncEngine) -> None:
    request_ids = {case.__name__: case(funded) for cases in CASES.values() for case in cases}
    wanted = set(request_ids.values())

    async def all_debited() -> bool:
        return wanted <= set(await debits_by_request(stack_db, funded.user_id))

    await eventually(all_debited, within=30, what="a debit for every inference request")
    debits = await debits_by_request(stack_db, funded.user_id)  # raises if a request id was debited twice
    assert all(debits[request_id] > 0 for request_id in wanted), {n: debits[r] for n, r in request_ids.items()}


def test_one_model_by_id_or_alias(funded: RunningStack) -> None:
    headers = {"authorization": f"Bearer {funded.api_key}"}
    model = _oa(funded).models.retrieve("gpt-4o-mini-2024-07-18")
    assert (model.id, model.object) == ("gpt-4o-mini", "model")
    missing = httpx.get(f"{funded.base_url}/v1/models/no-such-model", headers=headers, timeout=10)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "model_not_found"


def test_catalogue_admin_through_the_gateway(funded: RunningStack) -> None:
    admin = {"authorization": f"Bearer {funded.admin_key}"}
    status = httpx.get(f"{funded.base_url}/admin/v1/catalog/status", headers=admin, timeout=10)
    assert status.status_code == 200, status.text
    assert {p["kind"] for p in status.json()["providers"]} >= {"openai_compatible", "gemini", "azure_openai"}
    refreshed = httpx.post(f"{funded.base_url}/admin/v1/catalog/refresh", headers=admin, timeout=30)
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["generation"] >= 1
    user = {"authorization": f"Bearer {funded.api_key}"}
    assert httpx.get(f"{funded.base_url}/admin/v1/catalog/status", headers=user, timeout=10).status_code == 401


def test_code_router_routes_through_the_gateway(funded: RunningStack) -> None:
    base = f"{funded.base_url}/v1/router/code"
    options = httpx.get(f"{base}/options", timeout=10).json()
    assert [m["model"] for m in options["modes"]][:2] == ["router:code:balanced", "router:code:price"]
    tiers = httpx.get(f"{base}/tiers", timeout=10).json()["tiers"]
    assert [t["model"] for t in tiers] == ["gpt-4o-mini", "claude-3-5-haiku", "gpt-4o", "claude-sonnet-4"]
    prompt = "Design the architecture of a distributed queue:\n```py\npass\n```"
    body = {"model": "router:code", "messages": [{"role": "user", "content": prompt}]}
    picked = httpx.post(f"{base}/test", json=body, timeout=10).json()
    assert (picked["tier"], picked["model"]) == (3, "gpt-4o")
    assert httpx.post(f"{base}/validate", json={"mode": "quality"}, timeout=10).json()["model"] == "router:code:quality"
    assert httpx.post(f"{base}/validate", json={"mode": "fast"}, timeout=10).status_code == 422
    assert httpx.get(f"{base}/stats", timeout=10).json()["configured"] is True
