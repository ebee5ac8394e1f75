"""A fake inference_router speaking exactly the gateway's internal contract, on a real port in the test's loop."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import msgspec
from aiohttp import web

from tollway.contracts.internal_api import API_HEADER, CATALOG_PATH, CHAT_PATH, CatalogOut, ModelOut, PricesOut
from tollway.platform.identity import IDENTITY_HEADER, SIGNATURE_HEADER, Identity, IdentityError, verify_identity
from tollway.testing.processes import free_port

PRICES = PricesOut(input=1_000_000, output=2_000_000, cache_read=100_000, cache_write=1_250_000)
CATALOG = CatalogOut(
    models=(
        ModelOut(id="fake-model", aliases=("fm",), context_window=8192, max_output_tokens=1024, prices=PRICES),
        ModelOut(
            id="fake-free",
            context_window=4096,
            max_output_tokens=256,
            anonymous_allowed=True,
            prices=PricesOut(input=0, output=0, cache_read=0, cache_write=0),
        ),
    ),
    version="test",
)


class _Body(msgspec.Struct):
    model: str
    stream: bool = False
    max_tokens: int | None = None


@dataclass
class Call:
    identity: Identity
    api: str
    body: bytes
    headers: dict[str, str]
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_micros: int = 0


Completion = Callable[[Call], Awaitable[None]]


@dataclass
class FakeRouter:
    """Answers like the router: the client's format, its usage, errors with their status; knobs are attributes."""

    secret: bytes
    calls: list[Call] = field(default_factory=list)
    delay_s: tuple[float, float] = (0.0, 0.0)
    status: int = 200
    chunk_delay_s: float = 0.0
    chunks: int = 3
    catalog_available: bool = True
    on_complete: Completion | None = None
    cancelled: int = 0
    completion_tokens: Callable[[int], int] = lambda cap: min(cap, 7)
    url: str = ""
    _runner: web.AppRunner | None = None

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get(CATALOG_PATH, self._catalog)
        app.router.add_post(CHAT_PATH, self._chat)
        self._runner = web.AppRunner(app, handler_cancellation=True)
        await self._runner.setup()
        port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def _identity(self, request: web.Request) -> Identity:
        try:
            return verify_identity(
                request.headers.get(IDENTITY_HEADER), request.headers.get(SIGNATURE_HEADER), self.secret
            )
        except IdentityError as exc:
            raise web.HTTPUnauthorized(text=str(exc)) from None

    async def _catalog(self, request: web.Request) -> web.Response:
        self._identity(request)
        if not self.catalog_available:
            return web.Response(status=503, text="starting")
        return web.Response(body=msgspec.json.encode(CATALOG), content_type="application/json")

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        identity = self._identity(request)
        body = await request.read()
        call = Call(identity, request.headers[API_HEADER], body, {k.lower(): v for k, v in request.headers.items()})
        parsed = msgspec.json.decode(body, type=_Body)
        model = next(m for m in CATALOG.models if parsed.model in (m.id, *m.aliases))
        call.prompt_tokens = len(body) // 4  # never above the gateway's ceil(bytes / 4) estimate
        call.completion_tokens = self.completion_tokens(min(parsed.max_tokens or model.max_output_tokens, 1024))
        prompt_price = max(model.prices.input, model.prices.cache_write)
        numerator = call.prompt_tokens * prompt_price + call.completion_tokens * model.prices.output
        call.cost_micros = -(-numerator // 1_000_000)
        self.calls.append(call)
        try:
            await asyncio.sleep(random.uniform(*self.delay_s))
            if self.status != 200:
                return _error(call.api, self.status)
            if parsed.stream:
                response = await self._stream(request, call, parsed.model)
            else:
                response = web.Response(body=_message(call, parsed.model), content_type="application/json")
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        if self.on_complete is not None:
            await self.on_complete(call)
        return response

    async def _stream(self, request: web.Request, call: Call, model: str) -> web.StreamResponse:
        response = web.StreamResponse(headers={"content-type": "text/event-stream", "cache-control": "no-cache"})
        await response.prepare(request)
        for frame in _frames(call, model, self.chunks):
            await response.write(frame)
            await asyncio.sleep(self.chunk_delay_s)
        await response.write_eof()
        return response


def _error(api: str, status: int) -> web.Response:
    headers = {"retry-after": "1"} if status == 429 else {}
    if api == "anthropic":
        body = {"type": "error", "error": {"type": "api_error", "message": f"fake upstream {status}"}}
    else:
        body = {"error": {"message": f"fake upstream {status}", "type": "server_error", "param": None, "code": None}}
    return web.Response(status=status, body=msgspec.json.encode(body), content_type="application/json", headers=headers)


def _message(call: Call, model: str) -> bytes:
    if call.api == "anthropic":
        return msgspec.json.encode(
            {
                "id": "msg_fake",
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [{"type": "text", "text": "Hello from the fake router"}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": call.prompt_tokens, "output_tokens": call.completion_tokens},
            }
        )
    return msgspec.json.encode(
        {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": 0,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "Hello from the fake router"},
                    "finish_reason": "stop",
                }
            ],
            "usage": _openai_usage(call),
        }
    )


def _openai_usage(call: Call) -> dict[str, int]:
    total = call.prompt_tokens + call.completion_tokens
    return {"prompt_tokens": call.prompt_tokens, "completion_tokens": call.completion_tokens, "total_tokens": total}


def _sse(data: object, event: str | None = None) -> bytes:
    prefix = f"event: {event}\n".encode() if event else b""
    return prefix + b"data: " + msgspec.json.encode(data) + b"\n\n"


def _frames(call: Call, model: str, chunks: int) -> list[bytes]:
    if call.api == "anthropic":
        start = {"id": "msg_fake", "type": "message", "role": "assistant", "model": model, "content": []}
        start["usage"] = {"input_tokens": call.prompt_tokens, "output_tokens": 1}
        block = {"type": "text", "text": ""}
        deltas = [
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": f"w{i} "}}
            for i in range(chunks)
        ]
        return [
            _sse({"type": "message_start", "message": start}, "message_start"),
            _sse({"type": "content_block_start", "index": 0, "content_block": block}, "content_block_start"),
            *(_sse(d, "content_block_delta") for d in deltas),
            _sse({"type": "content_block_stop", "index": 0}, "content_block_stop"),
            _sse(
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": {"output_tokens": call.completion_tokens},
                },
                "message_delta",
            ),
            _sse({"type": "message_stop"}, "message_stop"),
        ]
    base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0, "model": model}
    frames = [
        _sse({**base, "choices": [{"index": 0, "delta": {"content": f"w{i} "}, "finish_reason": None}], "usage": None})
        for i in range(chunks)
    ]
    frames.append(_sse({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": None}))
    frames.append(_sse({**base, "choices": [], "usage": _openai_usage(call)}))
    frames.append(b"data: [DONE]\n\n")
    return frames
