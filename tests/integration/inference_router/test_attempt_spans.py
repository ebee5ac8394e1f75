# ruff: noqa: E501 - the catalogue reads best one model per line
"""Each upstream attempt is its own span, and embeddings fall back like chat: one event for the whole request."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from redis.asyncio import Redis

from tests.integration.inference_router.test_short_circuit import Events
from tests.unit.inference_router.conftest import send_to_fakellm
from tollway.contracts import RequestCompletedV1
from tollway.inference_router.adapters.breakers_redis import RedisBreakerBook
from tollway.inference_router.adapters.providers import build_adapters
from tollway.inference_router.bootstrap import SystemClock
from tollway.inference_router.domain.breaker import CircuitBreaker
from tollway.inference_router.domain.catalog import parse_catalog
from tollway.inference_router.domain.commands import ServeChat
from tollway.inference_router.domain.upstream import UpstreamRequest
from tollway.inference_router.handlers import RouterPorts, serve_chat
from tollway.inference_router.replies import ChatReply
from tollway.platform.redis import RedisKeys

CATALOG = b"""
providers:
  - {id: a, kind: openai_compatible, base_url: "http://127.0.0.1:9/v1"}
  - {id: g, kind: gemini, base_url: "http://127.0.0.1:9/v1beta"}
  - {id: z, kind: azure_openai, base_url: "http://127.0.0.1:9", api_version: "2024-10-21", headers: {api-key: k}}
models:
  - {id: m, context_window: 1000, max_output_tokens: 100, prices: &p {input: 1000000, output: 1000000, cache_read: 0, cache_write: 0},
     deployments: [{provider: a, upstream_model: "fake+status=503"}, {provider: g, upstream_model: "fake-gemini+tokens=3"}]}
  - {id: e, kind: embedding, context_window: 1000, max_output_tokens: 1, prices: *p,
     deployments: [{provider: g, upstream_model: cannot-embed}, {provider: a, upstream_model: "emb+status=500"},
                   {provider: z, upstream_model: emb-dep}]}
"""


class FakeReply:
    def __init__(self, status: int, headers: Mapping[str, str], chunks: list[bytes]) -> None:
        self.status, self.headers, self._chunks = status, headers, chunks

    async def read(self) -> bytes:
        return b"".join(self._chunks)

    async def first_chunk(self) -> bytes:
        return self._chunks.pop(0) if self._chunks else b""

    async def chunks(self) -> AsyncIterator[bytes]:
        while self._chunks:
            yield self._chunks.pop(0)

    def close(self) -> None:
        self._chunks = []


class InProcessTransport:
    """The fake upstream's ASGI app, called in process."""

    async def send(self, request: UpstreamRequest) -> FakeReply:
        status, headers, chunks = await send_to_fakellm(request)
        return FakeReply(status, headers, chunks)


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter
    exporter.shutdown()


def _command(body: bytes, api: str) -> ServeChat:
    return ServeChat(
        request_id=uuid.uuid4().hex,
        api=api,  # type: ignore[arg-type]
        body=body,
        user_id="u",
        account_id="u",
        api_key_id="k",
        is_anonymous=False,
        routing_strategy="primary_first",
        started=time.monotonic(),
    )


async def _ports(redis_client: Redis, prefix: str, events: Events) -> RouterPorts:
    catalog = parse_catalog(CATALOG)
    book = RedisBreakerBook(redis_client, RedisKeys("inference_router", prefix), CircuitBreaker())
    return RouterPorts(
        catalog=catalog,
        adapters=build_adapters(catalog, environ={}),
        transport=InProcessTransport(),
        breakers=book,
        usage=events,
        clock=SystemClock(),
    )


async def test_each_attempt_is_a_span(redis_client: Redis, redis_prefix: str, spans: InMemorySpanExporter) -> None:
    events = Events()
    ports = await _ports(redis_client, redis_prefix, events)
    answer = await serve_chat(
        _command(b'{"model": "m", "messages": [{"role": "user", "content": "hi"}]}', "openai"), ports
    )

    assert isinstance(answer, ChatReply)
    assert answer.status == 200
    attempts = [s for s in spans.get_finished_spans() if s.name == "upstream attempt"]
    assert [(s.attributes or {}).get("tollway.provider") for s in attempts] == ["a", "g"]
    assert [(s.attributes or {}).get("tollway.outcome") for s in attempts] == ["moved_on", "200"]
    assert [(s.attributes or {}).get("tollway.is_fallback") for s in attempts] == [False, True]
    await asyncio.sleep(0)
    (event,) = events.events
    assert isinstance(event, RequestCompletedV1)
    assert (event.provider, event.is_fallback, event.endpoint) == ("g", True, "chat")


async def test_embeddings_skip_what_cannot_embed_and_fall_back(redis_client: Redis, redis_prefix: str) -> None:
    events = Events()
    ports = await _ports(redis_client, redis_prefix, events)
    answer = await serve_chat(_command(b'{"model": "e", "input": ["hello", "world"]}', "openai_embeddings"), ports)

    assert isinstance(answer, ChatReply)
    assert answer.status == 200, answer.body
    (event,) = events.events
    assert isinstance(event, RequestCompletedV1)
    assert (event.provider, event.upstream_model, event.endpoint, event.prompt_tokens) == (
        "z",
        "emb-dep",
        "embeddings",
        4,
    )
    assert [a.provider for a in event.failed_attempts] == ["a"]  # Gemini cannot embed: passed, not a failure
    assert event.cost_micros == 4  # 4 tokens at 1 USD per million, rounded up


async def test_a_chat_call_to_an_embedding_model_is_a_422(redis_client: Redis, redis_prefix: str) -> None:
    ports = await _ports(redis_client, redis_prefix, Events())
    answer = await serve_chat(
        _command(b'{"model": "e", "messages": [{"role": "user", "content": "hi"}]}', "openai"), ports
    )
    assert isinstance(answer, ChatReply)
    assert answer.status == 422
