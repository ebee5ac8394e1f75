# ruff: noqa: E501 - the catalogue reads best one model per line
# A throttled deployment's breaker stays open for its Retry-After: each API's test throttles a model of its own.
"""google-genai and botocore's bedrock-runtime client through the gateway and a real router on the fake upstream.

Only the base URL and the key change: each call is admitted like chat (key, limits, credit), answered in its
own API's shape whatever provider served it, and recorded as exactly one usage event.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest
from botocore.exceptions import ClientError
from google import genai
from google.genai import errors, types
from nats.aio.client import Client as NatsClient
from nats.js.kv import KeyValue

from tests.integration.gateway.conftest import ADMIN
from tests.integration.gateway.public.native_clients import AsgiSender, bedrock_client, gemini_client
from tests.integration.gateway.public.support import BASE, USD, Account, Gateway, GatewayFactory, open_account, until
from tests.integration.inference_router.usage_events import UsageEvents
from tollway.contracts import RequestCompletedV1
from tollway.fakellm.sigv4 import DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY
from tollway.testing.infra import LocalInfra
from tollway.testing.namespaces import purge_namespace
from tollway.testing.processes import ManagedProcess
from tollway.testing.stack import RouterUnderTest, router_env, start_fakellm, start_router, write_catalog

BEDROCK_MODEL = "anthropic.claude-3-5-haiku-20241022-v1:0"
CATALOG = f"""
providers:
  - {{id: oa, kind: openai_compatible, base_url: http://127.0.0.1:8090/v1}}
  - {{id: claude, kind: anthropic, base_url: http://127.0.0.1:8090}}
  - {{id: gem, kind: gemini, base_url: http://127.0.0.1:8090/v1beta}}
  - {{id: bedrock, kind: bedrock, base_url: http://127.0.0.1:8090, region: us-east-1}}
models:
  - {{id: gemini-flash, context_window: 8000, max_output_tokens: 1000, prices: &p {{input: 100000, output: 400000, cache_read: 25000, cache_write: 100000}},
     deployments: [{{provider: gem, upstream_model: "fake-gemini+reasoning=3+cache_read=2"}}]}}
  - {{id: claude-haiku, context_window: 8000, max_output_tokens: 1000, prices: *p,
     deployments: [{{provider: claude, upstream_model: "fake-claude+cache_read=4+cache_write=6"}}]}}
  - {{id: gpt-mini, context_window: 8000, max_output_tokens: 1000, prices: *p,
     deployments: [{{provider: oa, upstream_model: fake-gpt}}]}}
  - {{id: on-bedrock, context_window: 8000, max_output_tokens: 1000, prices: *p,
     deployments: [{{provider: bedrock, upstream_model: "{BEDROCK_MODEL}"}}]}}
  - {{id: throttled, context_window: 8000, max_output_tokens: 1000, prices: *p,
     deployments: [{{provider: oa, upstream_model: "fake-t+status=429+retry_after=7"}}]}}
  - {{id: throttled-too, context_window: 8000, max_output_tokens: 1000, prices: *p,
     deployments: [{{provider: oa, upstream_model: "fake-u+status=429+retry_after=7"}}]}}
"""
# The router signs its Bedrock calls with these (the fake checks SigV4); nothing else of the host's AWS setup.
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": DEFAULT_ACCESS_KEY_ID,
    "AWS_SECRET_ACCESS_KEY": DEFAULT_SECRET_ACCESS_KEY,
    "AWS_CONFIG_FILE": "/nonexistent/aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
    "AWS_EC2_METADATA_DISABLED": "true",
}
PROMPT = "What is the weather like?"
HELLO = [{"role": "user", "content": [{"text": "hello there"}]}]
WEATHER_SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
WEATHER_TOOL = {"toolSpec": {"name": "get_weather", "inputSchema": {"json": WEATHER_SCHEMA}}}


@pytest.fixture(scope="module")
def router(
    migrated_database_url: str, test_infra: LocalInfra, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RouterUnderTest]:
    processes: list[ManagedProcess] = []
    namespace = f"r{uuid.uuid4().hex[:10]}"
    try:
        fake, upstream = start_fakellm()
        processes.append(fake)
        catalog = write_catalog(CATALOG, upstream, tmp_path_factory.mktemp("native-router"))
        env = router_env(
            database_url=migrated_database_url,
            nats_url=test_infra.nats_url,
            redis_url=test_infra.redis_url,
            namespace=namespace,
        )
        process, url = start_router({**env, **AWS_ENV}, catalog)
        processes.append(process)
        yield RouterUnderTest(url, upstream, namespace, env, catalog)
    finally:
        for process in processes:
            process.stop()
        asyncio.run(purge_namespace(test_infra.nats_url, test_infra.redis_url, namespace))


class Native:
    """One started gateway on the real router, a funded account, and botocore's bridge to the app."""

    def __init__(self, gateway: Gateway, account: Account) -> None:
        self.gateway, self.account = gateway, account
        self.sender = AsgiSender(gateway.app, asyncio.get_running_loop())

    def gemini(self, key: str | None = None, api_version: str | None = None) -> genai.Client:
        return gemini_client(self.gateway.app, key or self.account.key, BASE, api_version)

    def bedrock(self, key: str | None = None, endpoint: str = BASE) -> Any:
        return bedrock_client(self.sender, key or self.account.key, endpoint)


NativeFactory = Callable[[], AbstractAsyncContextManager[Native]]


@pytest.fixture
def native(start_gateway: GatewayFactory, router: RouterUnderTest, balances: KeyValue) -> NativeFactory:
    """Entered in the test itself: the app's lifespan must start and stop in one task."""

    @asynccontextmanager
    async def start() -> AsyncIterator[Native]:
        async with start_gateway(router_url=router.url) as gateway:
            yield Native(gateway, await open_account(gateway, balances, USD))

    return start


@pytest.fixture
def usage(router: RouterUnderTest, nc: NatsClient) -> UsageEvents:
    return UsageEvents(nc, router.namespace)


async def one_completed(usage: UsageEvents, request_id: str) -> RequestCompletedV1:
    events = await usage.of(request_id)
    await asyncio.sleep(0.2)  # a second event for the same request would have been published with the first
    events = await usage.of(request_id)
    assert len(events) == 1, events
    (event,) = events
    assert isinstance(event, RequestCompletedV1), event
    return event


def _request_id(response: types.GenerateContentResponse) -> str:
    assert response.sdk_http_response is not None
    assert response.sdk_http_response.headers is not None
    return response.sdk_http_response.headers["x-request-id"]


async def test_gemini_generate_content_from_a_gemini_and_an_anthropic_upstream(
    native: NativeFactory, usage: UsageEvents
) -> None:
    config = types.GenerateContentConfig(max_output_tokens=5, system_instruction="Be brief.")
    async with native() as tollway:
        client = tollway.gemini()
        served = await client.aio.models.generate_content(model="gemini-flash", contents=PROMPT, config=config)
        crossed = await client.aio.models.generate_content(model="claude-haiku", contents=PROMPT, config=config)

    assert served.text == crossed.text == "tok0 tok1 tok2 tok3 tok4"
    assert served.candidates is not None
    assert served.candidates[0].finish_reason == types.FinishReason.MAX_TOKENS
    meta = served.usage_metadata
    assert meta is not None
    event = await one_completed(usage, _request_id(served))
    assert (event.endpoint, event.provider, event.requested_model) == ("gemini", "gem", "gemini-flash")
    # Gemini's own counts survive the round trip: thinking apart from the answer, cached content inside the prompt.
    assert (meta.thoughts_token_count, meta.candidates_token_count, meta.cached_content_token_count) == (3, 5, 2)
    assert (event.prompt_tokens, event.completion_tokens, event.reasoning_tokens) == (meta.prompt_token_count, 8, 3)
    assert event.cost_micros > 0
    crossed_event = await one_completed(usage, _request_id(crossed))
    assert crossed_event.provider == "claude"
    assert crossed.usage_metadata is not None
    assert crossed.usage_metadata.prompt_token_count == crossed_event.prompt_tokens  # cache reads and writes inside


async def test_gemini_stream_over_sse(native: NativeFactory, usage: UsageEvents) -> None:
    config = types.GenerateContentConfig(max_output_tokens=4)
    async with native() as tollway:
        client = tollway.gemini(api_version="v1beta")
        stream = await client.aio.models.generate_content_stream(model="gpt-mini", contents=PROMPT, config=config)
        chunks = [chunk async for chunk in stream]

    assert "".join(chunk.text or "" for chunk in chunks) == "tok0 tok1 tok2 tok3"
    last = chunks[-1]
    assert last.candidates is not None
    assert last.candidates[0].finish_reason == types.FinishReason.MAX_TOKENS
    assert all(c.candidates and c.candidates[0].finish_reason is None for c in chunks[:-1])
    assert last.usage_metadata is not None
    event = await one_completed(usage, _request_id(last))
    assert (event.stream, event.endpoint, event.completion_tokens) == (True, "gemini", 4)
    assert last.usage_metadata.candidates_token_count == 4


async def test_gemini_function_call_and_its_result(native: NativeFactory) -> None:
    weather = types.FunctionDeclaration(name="get_weather", parameters_json_schema=WEATHER_SCHEMA)
    config = types.GenerateContentConfig(
        tools=[types.Tool(function_declarations=[weather])],
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    )
    async with native() as tollway:
        client = tollway.gemini()
        first = await client.aio.models.generate_content(model="claude-haiku", contents=PROMPT, config=config)
        (call,) = first.function_calls or []
        assert first.candidates is not None
        assert first.candidates[0].content is not None
        result = types.Part.from_function_response(name="get_weather", response={"sky": "clear"})
        history = [
            types.Content(role="user", parts=[types.Part(text=PROMPT)]),
            first.candidates[0].content,
            types.Content(role="user", parts=[result]),
        ]
        second = await client.aio.models.generate_content(model="claude-haiku", contents=history, config=config)

    assert (call.name, call.args) == ("get_weather", {"city": "fake"})
    assert second.text
    assert not second.function_calls


async def test_gemini_key_in_the_query_and_errors_in_googles_shape(native: NativeFactory, balances: KeyValue) -> None:
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}], "generationConfig": {"maxOutputTokens": 2}}
    path = "/v1beta/models/gemini-flash"
    async with native() as tollway, tollway.gateway.http() as http:
        by_query = await http.post(f"{path}:generateContent?key={tollway.account.key}", json=body)
        no_key = await http.post(f"{path}:generateContent", json=body)
        not_sse = await http.post(
            f"{path}:streamGenerateContent", json=body, headers={"x-goog-api-key": tollway.account.key}
        )
        broke = await open_account(tollway.gateway, balances, 0)  # an account without credit
        failures = {
            name: await _gemini_failure(client, model)
            for name, client, model in (
                ("unknown", tollway.gemini(), "no-such-model"),
                ("throttled", tollway.gemini(), "throttled"),
                ("bad_key", tollway.gemini("tw_not_a_real_key"), "gpt-mini"),
                ("no_credit", tollway.gemini(broke.key), "gpt-mini"),
            )
        }

    assert by_query.status_code == 200, by_query.text
    assert by_query.json()["candidates"][0]["content"]["parts"][0]["text"] == "tok0 tok1"
    error = no_key.json()["error"]
    assert (no_key.status_code, error["code"], error["status"]) == (401, 401, "UNAUTHENTICATED")
    assert "x-goog-api-key" in error["message"]
    assert (not_sse.status_code, not_sse.json()["error"]["status"]) == (400, "INVALID_ARGUMENT")
    codes = {name: (failure.code, failure.status) for name, failure in failures.items()}
    assert codes == {
        "unknown": (404, "NOT_FOUND"),
        "throttled": (429, "RESOURCE_EXHAUSTED"),
        "bad_key": (401, "UNAUTHENTICATED"),
        "no_credit": (402, "FAILED_PRECONDITION"),
    }
    assert failures["throttled"].response.headers["retry-after"] == "7"


async def _gemini_failure(client: genai.Client, model: str) -> errors.ClientError:
    with pytest.raises(errors.ClientError) as raised:
        await client.aio.models.generate_content(model=model, contents=PROMPT)
    return raised.value


def _header(answer: dict[str, Any], name: str) -> str:
    value: str = answer["ResponseMetadata"]["HTTPHeaders"][name]
    return value


async def test_bedrock_converse_signed_with_the_tollway_key(native: NativeFactory, usage: UsageEvents) -> None:
    async with native() as tollway:
        client = tollway.bedrock()
        served = await asyncio.to_thread(
            client.converse,
            modelId="on-bedrock",
            messages=HELLO,
            system=[{"text": "be brief"}],
            inferenceConfig={"maxTokens": 3},
        )
        crossed = await asyncio.to_thread(client.converse, modelId="claude-haiku", messages=HELLO)

    assert served["output"]["message"]["content"][0]["text"] == "tok0 tok1 tok2"
    assert served["stopReason"] == "max_tokens"
    event = await one_completed(usage, _header(served, "x-request-id"))
    assert (event.endpoint, event.provider, event.requested_model) == ("bedrock", "bedrock", "on-bedrock")
    assert served["usage"]["inputTokens"] == event.prompt_tokens
    assert served["usage"]["outputTokens"] == event.completion_tokens == 3
    crossed_event = await one_completed(usage, _header(crossed, "x-request-id"))
    # Anthropic's cache reads and writes sit beside inputTokens, as Bedrock reports them.
    assert (crossed["usage"]["cacheReadInputTokens"], crossed["usage"]["cacheWriteInputTokens"]) == (4, 6)
    assert crossed["usage"]["inputTokens"] + 10 == crossed_event.prompt_tokens
    assert crossed["usage"]["totalTokens"] == crossed_event.prompt_tokens + crossed_event.completion_tokens


async def test_bedrock_converse_stream_is_an_event_stream_botocore_parses(
    native: NativeFactory, usage: UsageEvents
) -> None:
    async with native() as tollway:
        client = tollway.bedrock()

        def stream(**call: Any) -> tuple[list[dict[str, Any]], str]:
            answer = client.converse_stream(messages=HELLO, **call)
            return list(answer["stream"]), _header(answer, "x-request-id")

        events, request_id = await asyncio.to_thread(stream, modelId="gemini-flash", inferenceConfig={"maxTokens": 3})
        tools, _ = await asyncio.to_thread(stream, modelId="gpt-mini", toolConfig={"tools": [WEATHER_TOOL]})

    kinds = [next(iter(event)) for event in events]
    assert kinds == ["messageStart", *["contentBlockDelta"] * 3, "contentBlockStop", "messageStop", "metadata"]
    text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e)
    assert text == "tok0 tok1 tok2"
    assert events[-2]["messageStop"]["stopReason"] == "max_tokens"
    event = await one_completed(usage, request_id)
    assert (event.stream, event.endpoint) == (True, "bedrock")
    # Gemini's thinking (3 tokens here) is output: Converse has no field of its own for it.
    assert events[-1]["metadata"]["usage"]["outputTokens"] == event.completion_tokens == 3 + 3
    start = next(e["contentBlockStart"]["start"]["toolUse"] for e in tools if "contentBlockStart" in e)
    pieces = "".join(e["contentBlockDelta"]["delta"]["toolUse"]["input"] for e in tools if "contentBlockDelta" in e)
    assert start["name"] == "get_weather"
    assert pieces == '{"city":"fake"}'
    assert tools[-2]["messageStop"]["stopReason"] == "tool_use"


async def test_bedrock_tool_round_trip(native: NativeFactory) -> None:
    tools = {"tools": [WEATHER_TOOL]}
    async with native() as tollway:
        client = tollway.bedrock()
        first = await asyncio.to_thread(client.converse, modelId="gemini-flash", messages=HELLO, toolConfig=tools)
        (block,) = first["output"]["message"]["content"]
        result = {"toolResult": {"toolUseId": block["toolUse"]["toolUseId"], "content": [{"json": {"sky": "clear"}}]}}
        history = [*HELLO, first["output"]["message"], {"role": "user", "content": [result]}]
        second = await asyncio.to_thread(client.converse, modelId="gemini-flash", messages=history, toolConfig=tools)

    assert first["stopReason"] == "tool_use"
    assert (block["toolUse"]["name"], block["toolUse"]["input"]) == ("get_weather", {"city": "fake"})
    assert second["stopReason"] == "end_turn"
    assert second["output"]["message"]["content"][0]["text"]


async def test_bedrock_errors_are_aws_errors(native: NativeFactory, balances: KeyValue) -> None:
    async with native() as tollway:
        broke = await open_account(tollway.gateway, balances, 0)

        def failure(key: str | None = None, **call: Any) -> tuple[str, int, dict[str, Any]]:
            with pytest.raises(ClientError) as raised:
                tollway.bedrock(key).converse(messages=HELLO, **call)
            response: dict[str, Any] = raised.value.response  # type: ignore[assignment]
            return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response

        unknown = await asyncio.to_thread(failure, modelId="no-such-model")
        throttled = await asyncio.to_thread(failure, modelId="throttled-too")
        bad_key = await asyncio.to_thread(failure, "tw_not_a_real_key", modelId="gpt-mini")
        no_credit = await asyncio.to_thread(failure, broke.key, modelId="gpt-mini")
        invalid = await asyncio.to_thread(failure, modelId="gpt-mini", inferenceConfig={"temperature": 1.5})

    assert unknown[:2] == ("ResourceNotFoundException", 404)
    assert throttled[:2] == ("ThrottlingException", 429)
    assert _header(throttled[2], "retry-after") == "7"
    assert bad_key[:2] == ("UnrecognizedClientException", 401)
    assert no_credit[:2] == ("ServiceQuotaExceededException", 402)
    assert invalid[:2] == ("ValidationException", 422)
    assert "temperature" in invalid[2]["Error"]["Message"]


async def test_a_rate_limited_key_gets_429_with_retry_after_in_both_shapes(native: NativeFactory) -> None:
    async with native() as tollway:
        gateway, key_id = tollway.gateway, tollway.account.key_id
        limited = await gateway.client.put(f"/admin/v1/api-keys/{key_id}/rate-limits", json={"rpm": 1}, headers=ADMIN)
        assert limited.status_code == 200, limited.text
        await until(lambda: gateway.public.limits.for_key(key_id).rpm == 1)
        client = tollway.gemini()
        await client.aio.models.generate_content(model="gpt-mini", contents=PROMPT)
        gemini_429 = await _gemini_failure(client, "gpt-mini")

        def bedrock_429() -> dict[str, Any]:
            with pytest.raises(ClientError) as raised:
                tollway.bedrock().converse(modelId="gpt-mini", messages=HELLO)
            return raised.value.response  # type: ignore[return-value]

        aws = await asyncio.to_thread(bedrock_429)

    assert (gemini_429.code, gemini_429.status) == (429, "RESOURCE_EXHAUSTED")
    assert int(gemini_429.response.headers["retry-after"]) >= 1
    assert aws["Error"]["Code"] == "ThrottlingException"
    assert int(_header(aws, "retry-after")) >= 1


async def test_bedrock_bearer_token_from_the_environment(
    native: NativeFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """botocore sends ``AWS_BEARER_TOKEN_BEDROCK`` as a bearer token (to HTTPS endpoints only; the bridge has none)."""
    async with native() as tollway:
        monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", tollway.account.key)
        client = bedrock_client(tollway.sender, None, "https://gateway.test")
        answer = await asyncio.to_thread(
            client.converse, modelId="gpt-mini", messages=HELLO, inferenceConfig={"maxTokens": 2}
        )

    assert answer["output"]["message"]["content"][0]["text"] == "tok0 tok1"
    assert tollway.sender.last_headers["x-request-id"]
