"""Keys in the path never reach logs, spans or metrics; a warm key's request path costs no Postgres query."""

from __future__ import annotations

import logging

import anthropic
import openai
import pytest
from nats.js.kv import KeyValue
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.integration.gateway.conftest import QueryCounter
from tests.integration.gateway.public.support import (
    BASE,
    USD,
    GatewayFactory,
    bearer,
    chat_body,
    open_account,
)

HELLO = [{"role": "user", "content": "hi"}]


class Recorder(logging.Handler):
    """Collects records; attached after the app starts (Litestar's logging setup replaces root handlers)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def spans() -> InMemorySpanExporter:
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


async def test_key_in_path_works_and_leaves_no_trace(
    start_gateway: GatewayFactory,
    balances: KeyValue,
    spans: InMemorySpanExporter,
) -> None:
    recorder = Recorder()
    loggers = [logging.getLogger(), logging.getLogger("litestar")]
    async with start_gateway() as gateway:
        for logger in loggers:
            logger.addHandler(recorder)
            logger.setLevel(logging.DEBUG)
        account = await open_account(gateway, balances, USD)
        path_client = openai.AsyncOpenAI(
            base_url=f"{BASE}/ak/{account.key}/v1", api_key="unused", http_client=gateway.http()
        )
        completion = await path_client.chat.completions.create(model="fake-model", messages=HELLO)
        models = [m.id async for m in path_client.models.list()]
        message = await anthropic.AsyncAnthropic(
            base_url=f"{BASE}/ak/{account.key}", api_key="unused", http_client=gateway.http()
        ).messages.create(model="fake-model", max_tokens=5, messages=HELLO)
        missing = await gateway.client.get(f"/ak/{account.key}/v2/nothing")
        gateway.public.router.open_chat = _explode  # type: ignore[method-assign]
        failed = await gateway.client.post(
            f"/ak/{account.key}/v1/messages", json={"model": "fake-model", "messages": HELLO}
        )
        metrics = (await gateway.client.get("/metrics")).text
        for logger in loggers:
            logger.removeHandler(recorder)

    assert completion.choices[0].message.content
    assert models == ["fake-model", "fake-free"]
    assert message.content
    assert missing.status_code == 404
    assert (failed.status_code, failed.json()["error"]["type"]) == (500, "api_error")  # Anthropic's shape, no traceback
    secret = account.key[3:]  # without the tw_ prefix, so a redacted form would not hide a leak
    assert secret not in metrics
    assert 'tollway_hot_request_seconds_count{route="chat_completions",service="gateway",status="200"}' in metrics
    # The SDKs trace their own calls (the URL holds the key, on the client's side); the rest is the gateway's.
    server_side_spans = [s for s in spans.get_finished_spans() if not s.name.startswith(("anthropic.", "openai."))]
    recorded = [str(span.name) + str(dict(span.attributes or {})) for span in server_side_spans]
    assert "chat_completions{}" in recorded  # the hot route's own span (the Edge serves it outside Litestar)
    assert any("/v1/models" in text for text in recorded)  # Litestar's tracing, for the routes it still serves
    assert not [text for text in recorded if secret in text]
    # The test's own clients log the URLs they call; everything else is the gateway side (and the fake router).
    server_side = [r for r in recorder.records if not r.name.startswith(("httpx", "openai", "anthropic"))]
    logged = [f"{r.getMessage()} {r.args} {vars(r)}" for r in server_side]
    assert any("relaying req_" in text and "RuntimeError" in text for text in logged)  # logged with its traceback...
    assert not [text for text in logged if secret in text]  # ...and never with the key


async def _explode(*args: object) -> None:
    raise RuntimeError("boom")


async def test_a_warm_key_request_sends_no_query_to_postgres(
    start_gateway: GatewayFactory,
    balances: KeyValue,
) -> None:
    async with start_gateway(limits_refresh_s=600, rpm=1000, tpm=10**7) as gateway:
        account = await open_account(gateway, balances, USD)
        queries = QueryCounter(gateway.app.state.infra.require_engine())
        cold = await gateway.client.post("/v1/chat/completions", json=chat_body(), headers=bearer(account.key))
        after_cold = queries.count
        warm = [
            (
                await gateway.client.post("/v1/chat/completions", json=chat_body(), headers=bearer(account.key))
            ).status_code
            for _ in range(20)
        ]
        after_warm = queries.count  # measured before shutdown, whose last-used flush is one UPDATE

    assert (cold.status_code, after_cold) == (200, 1)  # the cold key's one lookup
    assert warm == [200] * 20
    assert after_warm == after_cold
