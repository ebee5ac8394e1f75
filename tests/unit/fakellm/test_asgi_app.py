"""The ASGI app driven in-process: routing, event sequences, stats, truncation."""

import asyncio
import time
from collections.abc import MutableMapping
from typing import Any

import msgspec

from tollway.fakellm.asgi import app

Message = MutableMapping[str, Any]


class Exchange:
    def __init__(self, status: int, headers: dict[bytes, bytes], chunks: list[bytes], finished: bool) -> None:
        self.status, self.headers, self.chunks, self.finished = status, headers, chunks, finished

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    def json(self) -> Any:
        return msgspec.json.decode(self.body)


async def call(
    method: str,
    path: str,
    body: object = None,
    headers: dict[str, str] | None = None,
    hang_up_after: float | None = None,
) -> Exchange:
    raw = body if isinstance(body, bytes) else (b"" if body is None else msgspec.json.encode(body))
    # Split the body over two receive messages to exercise reassembly.
    incoming: list[Message] = [
        {"type": "http.request", "body": raw[:3], "more_body": True},
        {"type": "http.request", "body": raw[3:]},
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        if incoming:
            return incoming.pop(0)
        # Like a server: once the body is read, receive() only returns when the client hangs up.
        await asyncio.sleep(hang_up_after if hang_up_after is not None else 3600)
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "headers": [(k.encode(), v.encode()) for k, v in (headers or {}).items()],
    }
    await app(scope, receive, send)
    bodies = [m for m in sent if m["type"] == "http.response.body"]
    return Exchange(
        sent[0]["status"],
        dict(sent[0]["headers"]),
        [m["body"] for m in bodies],
        finished=bool(bodies) and not bodies[-1].get("more_body", False),
    )


def sse_events(body: bytes) -> list[tuple[str | None, bytes]]:
    events = []
    for block in body.decode().split("\n\n"):
        if not block:
            continue
        lines = dict(line.split(": ", 1) for line in block.split("\n"))
        events.append((lines.get("event"), lines["data"].encode()))
    return events


CHAT = {"model": "fake-gpt", "messages": [{"role": "user", "content": "12345678"}]}
MESSAGES = {"model": "fake-claude", "max_tokens": 100, "messages": [{"role": "user", "content": "12345678"}]}


async def test_health_and_models() -> None:
    assert (await call("GET", "/health")).status == 200
    models = (await call("GET", "/v1/models")).json()
    assert models["object"] == "list"
    assert "fake-gpt" in [m["id"] for m in models["data"]]


async def test_unknown_path_and_wrong_method() -> None:
    missing = await call("GET", "/v2/nothing")
    assert (missing.status, missing.json()["error"]["code"]) == (404, "unknown_url")
    wrong = await call("GET", "/v1/messages")
    assert (wrong.status, wrong.json()["type"]) == (405, "error")


async def test_malformed_bodies_get_provider_shaped_400s() -> None:
    openai = await call("POST", "/v1/chat/completions", b"{nope")
    assert (openai.status, openai.json()["error"]["type"]) == (400, "invalid_request_error")
    anthropic = await call("POST", "/v1/messages", {"model": "m", "messages": []})  # max_tokens missing
    assert (anthropic.status, anthropic.json()["error"]["type"]) == (400, "invalid_request_error")
    assert "max_tokens" in anthropic.json()["error"]["message"]


async def test_unknown_control_is_a_400() -> None:
    response = await call("POST", "/v1/chat/completions", CHAT, {"x-fakellm-speed": "fast"})
    assert response.status == 400
    assert "unknown control" in response.json()["error"]["message"]


async def test_openai_stream_is_role_then_one_chunk_per_token_then_done() -> None:
    body = {**CHAT, "stream": True, "stream_options": {"include_usage": True}}
    response = await call("POST", "/v1/chat/completions", body, {"x-fakellm-completion-tokens": "4"})
    assert response.headers[b"content-type"] == b"text/event-stream"
    events = [data for _, data in sse_events(response.body)]
    assert events[-1] == b"[DONE]"
    chunks = [msgspec.json.decode(data) for data in events[:-1]]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert [c["choices"][0]["delta"]["content"] for c in chunks[1:5]] == ["tok0", " tok1", " tok2", " tok3"]
    assert chunks[5]["choices"][0]["finish_reason"] == "stop"
    assert chunks[6]["choices"] == []
    assert chunks[6]["usage"]["completion_tokens"] == 4
    assert len({c["id"] for c in chunks}) == 1


async def test_anthropic_stream_follows_the_real_event_order() -> None:
    response = await call("POST", "/v1/messages", {**MESSAGES, "stream": True}, {"x-fakellm-completion-tokens": "2"})
    names = [name for name, _ in sse_events(response.body)]
    assert names == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    for name, data in sse_events(response.body):
        assert msgspec.json.decode(data)["type"] == name


async def test_disconnect_leaves_the_body_unfinished() -> None:
    body = {**CHAT, "model": "fake-gpt+disconnect=3", "stream": True}
    response = await call("POST", "/v1/chat/completions", body)
    assert len(response.chunks) == 3
    assert not response.finished


async def test_paced_stream_takes_its_time() -> None:
    headers = {"x-fakellm-tokens-per-second": "200", "x-fakellm-completion-tokens": "10"}
    started = time.perf_counter()
    response = await call("POST", "/v1/chat/completions", {**CHAT, "stream": True}, headers)
    assert time.perf_counter() - started >= 11 * 0.005  # 10 tokens, finish chunk and [DONE] after the first token
    assert response.finished
    assert len(response.chunks) == 14  # role, 10 tokens, finish, [DONE], and the empty closing message


async def test_paced_stream_stops_when_the_client_hangs_up() -> None:
    headers = {"x-fakellm-tokens-per-second": "100"}
    response = await call("POST", "/v1/chat/completions", {**CHAT, "stream": True}, headers, hang_up_after=0.035)
    assert 2 <= len(response.chunks) <= 6
    assert not response.finished


async def test_ttft_delays_only_the_first_token() -> None:
    headers = {"x-fakellm-ttft-ms": "50"}
    started = time.perf_counter()
    response = await call("POST", "/v1/messages", {**MESSAGES, "stream": True}, headers)
    assert time.perf_counter() - started >= 0.05
    assert response.finished


async def test_injected_status_with_retry_after() -> None:
    response = await call("POST", "/v1/messages", MESSAGES, {"x-fakellm-status": "529", "x-fakellm-retry-after": "4"})
    assert (response.status, response.headers[b"retry-after"]) == (529, b"4")
    assert response.json()["error"]["type"] == "overloaded_error"


async def test_stats_count_per_path_and_model_and_reset() -> None:
    await call("POST", "/_fakellm/reset")
    await call("POST", "/v1/chat/completions", CHAT)
    await call("POST", "/v1/chat/completions", {**CHAT, "model": "fake-gpt+latency=0"})
    await call("POST", "/v1/messages", MESSAGES)
    stats = (await call("GET", "/_fakellm/stats")).json()
    assert stats == {
        "total": 3,
        "requests": {
            "/v1/chat/completions": {"fake-gpt": 1, "fake-gpt+latency=0": 1},
            "/v1/messages": {"fake-claude": 1},
        },
    }
    last = (await call("GET", "/_fakellm/requests")).json()
    assert last["/v1/messages"]["body"] == MESSAGES
    await call("POST", "/_fakellm/reset")
    assert (await call("GET", "/_fakellm/stats")).json() == {"total": 0, "requests": {}}


async def test_lifespan_startup_and_shutdown() -> None:
    incoming: list[Message] = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[Message] = []

    async def receive() -> Message:
        return incoming.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    await app({"type": "lifespan"}, receive, send)
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
