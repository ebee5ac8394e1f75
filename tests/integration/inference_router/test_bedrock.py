# ruff: noqa: E501 - the catalogue reads best one model per line
"""Seed 000's journey through a real router: the Anthropic primary fails (429, 5xx, timeout) and Bedrock serves it.

Bedrock here is the fake's Converse emulation, reached with SigV4 signed by botocore from the standard AWS
credential chain (env vars in this router's environment) and answered as a binary event stream.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import httpx
import msgspec
import pytest
from nats.aio.client import Client as NatsClient

from tests.integration.inference_router.usage_events import UsageEvents
from tollway.contracts import RequestCompletedV1, RequestFailedV1
from tollway.fakellm.sigv4 import DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY
from tollway.platform.identity import Identity
from tollway.testing.infra import LocalInfra
from tollway.testing.namespaces import purge_namespace
from tollway.testing.processes import ManagedProcess
from tollway.testing.stack import RouterUnderTest, router_env, signed, start_fakellm, start_router, write_catalog

BEDROCK_MODEL = "anthropic.claude-3-5-haiku-20241022-v1:0"
CATALOG = f"""
price_version: golden-2026-12
providers:
  - {{id: plan, kind: anthropic, base_url: http://127.0.0.1:8090}}
  - {{id: bedrock, kind: bedrock, base_url: http://127.0.0.1:8090, region: us-east-1}}
models:
  - {{id: claude-429, context_window: 8000, max_output_tokens: 1000, prices: &p {{input: 800000, output: 4000000, cache_read: 80000, cache_write: 1000000}},
     deployments: [{{provider: plan, upstream_model: "fake-claude+status=429"}}, {{provider: bedrock, upstream_model: "{BEDROCK_MODEL}"}}]}}
  - {{id: claude-503, context_window: 8000, max_output_tokens: 1000, prices: *p,
     deployments: [{{provider: plan, upstream_model: "fake-claude+status=503"}}, {{provider: bedrock, upstream_model: "{BEDROCK_MODEL}+cache_read=100+cache_write=40"}}]}}
  - {{id: claude-slow, context_window: 8000, max_output_tokens: 1000, prices: *p,
     deployments: [{{provider: plan, upstream_model: "fake-claude+latency=3000"}}, {{provider: bedrock, upstream_model: "{BEDROCK_MODEL}"}}]}}
  - {{id: claude-ok, context_window: 8000, max_output_tokens: 1000, prices: *p,
     deployments: [{{provider: plan, upstream_model: fake-claude-primary}}, {{provider: bedrock, upstream_model: fake-claude-on-bedrock}}]}}
  - {{id: claude-cache-1h, context_window: 8000, max_output_tokens: 1000,
     prices: {{input: 3000000, output: 15000000, cache_read: 300000, cache_write: 3750000, cache_write_1h: 6000000, per_request: 7}},
     deployments: [{{provider: plan, upstream_model: "fake-claude+cache_read=100+cache_write=60+cache_write_1h=40+tokens=5"}}]}}
  - {{id: bedrock-throttled, context_window: 8000, max_output_tokens: 1000, prices: *p,
     deployments: [{{provider: bedrock, upstream_model: "fake-bedrock+status=429+retry_after=5"}}]}}
"""
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": DEFAULT_ACCESS_KEY_ID,
    "AWS_SECRET_ACCESS_KEY": DEFAULT_SECRET_ACCESS_KEY,
    "AWS_CONFIG_FILE": "/nonexistent/aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
    "AWS_EC2_METADATA_DISABLED": "true",
}
HELLO = {"max_tokens": 100, "messages": [{"role": "user", "content": "hello there"}]}
Sse = msgspec.json.Decoder(dict[str, object])


@pytest.fixture(scope="module")
def bedrock_router(
    migrated_database_url: str, test_infra: LocalInfra, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RouterUnderTest]:
    processes: list[ManagedProcess] = []
    namespace = f"r{uuid.uuid4().hex[:10]}"
    try:
        fake, upstream = start_fakellm()
        processes.append(fake)
        catalog = write_catalog(CATALOG, upstream, tmp_path_factory.mktemp("bedrock-router"))
        env = router_env(
            database_url=migrated_database_url,
            nats_url=test_infra.nats_url,
            redis_url=test_infra.redis_url,
            namespace=namespace,
        )
        process, url = start_router({**env, **AWS_ENV}, catalog, FIRST_TOKEN_TIMEOUT_S="1.0", TOTAL_TIMEOUT_S="1.5")
        processes.append(process)
        yield RouterUnderTest(url, upstream, namespace, env, catalog)
    finally:
        for process in processes:
            process.stop()
        asyncio.run(purge_namespace(test_infra.nats_url, test_infra.redis_url, namespace))


def _headers(request_id: str, api: str, strategy: str = "primary_first") -> dict[str, str]:
    who = Identity(
        request_id=request_id, user_id="usr_b", account_id="usr_b", api_key_id="key_b", routing_strategy=strategy
    )
    return signed(who, api)


async def _post(router: RouterUnderTest, headers: dict[str, str], body: dict[str, object]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=router.url, timeout=10) as client:
        return await client.post("/internal/v1/chat", headers=headers, json=body)


@pytest.fixture
def usage_events(bedrock_router: RouterUnderTest, nc: NatsClient) -> UsageEvents:
    return UsageEvents(nc, bedrock_router.namespace)


async def _completed(usage_events: UsageEvents, request_id: str) -> RequestCompletedV1:
    (event,) = await usage_events.of(request_id)
    assert isinstance(event, RequestCompletedV1), event
    return event


@pytest.mark.parametrize("model", ["claude-429", "claude-slow"])
async def test_a_failing_anthropic_primary_falls_back_to_bedrock(
    bedrock_router: RouterUnderTest, usage_events: UsageEvents, model: str
) -> None:
    request_id = f"req-bdrk-{model}"
    response = await _post(bedrock_router, _headers(request_id, "anthropic"), {"model": model, **HELLO})

    assert response.status_code == 200, response.text
    message = response.json()
    assert message["content"][0]["text"].startswith("tok0 tok1")
    assert (message["stop_reason"], message["usage"]["input_tokens"], message["usage"]["output_tokens"]) == (
        "end_turn",
        3,
        20,
    )
    event = await _completed(usage_events, request_id)
    assert (event.provider, event.upstream_model, event.is_fallback, event.attempts) == (
        "bedrock",
        BEDROCK_MODEL,
        True,
        2,
    )
    (failed,) = event.failed_attempts  # the primary's attempt has its own line in the usage event
    assert (failed.provider, failed.error_class) == ("plan", "rate_limited" if model == "claude-429" else "timeout")
    assert event.price_version == "golden-2026-12"
    assert (event.prompt_tokens, event.completion_tokens) == (3, 20)
    assert event.cost_micros == -(-(3 * 800_000 + 20 * 4_000_000) // 1_000_000)  # 83 micro-USD, rounded up once


async def test_a_stream_falls_back_to_bedrock_and_is_relayed_in_anthropic_events(
    bedrock_router: RouterUnderTest, usage_events: UsageEvents
) -> None:
    request_id = "req-bdrk-stream"
    body = {"model": "claude-503", "stream": True, **HELLO}
    response = await _post(bedrock_router, _headers(request_id, "anthropic"), body)

    assert response.status_code == 200, response.text
    events = [Sse.decode(line[6:]) for line in response.text.splitlines() if line.startswith("data: ")]
    kinds = [event["type"] for event in events]
    assert kinds[0] == "message_start"
    assert kinds[-2:] == ["message_delta", "message_stop"]
    text = "".join(e["delta"]["text"] for e in events if e["type"] == "content_block_delta")  # type: ignore[index]
    assert text == " ".join(f"tok{i}" for i in range(20))
    assert events[-2]["usage"] == {  # Bedrock's counts, cache reads and writes beside input as Anthropic's are
        "input_tokens": 3,
        "output_tokens": 20,
        "cache_creation_input_tokens": 40,
        "cache_read_input_tokens": 100,
    }
    event = await _completed(usage_events, request_id)
    assert (event.provider, event.is_fallback, event.stream) == ("bedrock", True, True)
    assert (event.prompt_tokens, event.cache_read_tokens, event.cache_write_tokens) == (143, 100, 40)
    expected = 3 * 800_000 + 100 * 80_000 + 40 * 1_000_000 + 20 * 4_000_000
    assert event.cost_micros == -(-expected // 1_000_000)


async def test_a_bedrock_only_user_never_touches_the_primary(
    bedrock_router: RouterUnderTest, usage_events: UsageEvents
) -> None:
    request_id = "req-bdrk-only"
    headers = _headers(request_id, "openai", strategy="bedrock_only")
    response = await _post(bedrock_router, headers, {"model": "claude-ok", **HELLO})

    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"].startswith("tok0")
    assert bedrock_router.upstream_calls("fake-claude-primary") == 0
    assert bedrock_router.upstream_calls("fake-claude-on-bedrock") == 1
    event = await _completed(usage_events, request_id)
    assert (event.provider, event.is_fallback, event.attempts) == ("bedrock", False, 1)


async def test_openai_tool_calls_round_trip_through_converse(
    bedrock_router: RouterUnderTest, usage_events: UsageEvents
) -> None:
    tool = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        },
    }
    body = {"model": "claude-429", "tools": [tool], **HELLO}
    response = await _post(bedrock_router, _headers("req-bdrk-tool", "openai"), body)

    assert response.status_code == 200, response.text
    choice = response.json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    (call,) = choice["message"]["tool_calls"]
    assert (call["function"]["name"], call["function"]["arguments"]) == ("get_weather", '{"city":"fake"}')
    async with httpx.AsyncClient() as client:
        sent = (await client.get(f"{bedrock_router.upstream}/_fakellm/requests")).json()
    converse = next(value["body"] for path, value in sent.items() if path.endswith("/converse"))
    assert converse["toolConfig"]["tools"][0]["toolSpec"]["inputSchema"]["json"]["required"] == ["city"]
    assert converse["inferenceConfig"] == {"maxTokens": 100}


async def test_a_throttled_bedrock_is_a_429_with_retry_after_and_one_failed_event(
    bedrock_router: RouterUnderTest, usage_events: UsageEvents
) -> None:
    request_id = "req-bdrk-429"
    response = await _post(bedrock_router, _headers(request_id, "openai"), {"model": "bedrock-throttled", **HELLO})

    assert response.status_code == 429
    assert response.headers["retry-after"] == "5"
    (event,) = await usage_events.of(request_id)
    assert isinstance(event, RequestFailedV1)
    assert [(a.provider, a.status_code, a.error_class) for a in event.attempts] == [("bedrock", 429, "rate_limited")]


async def test_anthropic_one_hour_cache_writes_are_priced_apart_in_a_stream(
    bedrock_router: RouterUnderTest, usage_events: UsageEvents
) -> None:
    request_id = "req-cache-1h"
    body = {"model": "claude-cache-1h", "stream": True, **HELLO}
    response = await _post(bedrock_router, _headers(request_id, "anthropic"), body)

    assert response.status_code == 200, response.text
    event = await _completed(usage_events, request_id)
    assert (event.cache_read_tokens, event.cache_write_tokens, event.cache_write_1h_tokens) == (100, 100, 40)
    assert (event.prompt_tokens, event.completion_tokens) == (3 + 100 + 100, 5)
    # 3 x 3 + 100 reads x 0.3 + 60 5-minute writes x 3.75 + 40 1-hour writes x 6 + 5 x 15 = 579, + 7 per request
    assert event.cost_micros == 586
    assert event.price_version == "golden-2026-12"
