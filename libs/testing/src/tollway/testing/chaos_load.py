"""The steady SDK load a chaos drill keeps on the gateway, and how each answer is classified."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import anthropic
import httpx
import openai
from anthropic.types import MessageParam
from openai.types.chat import ChatCompletionUserMessageParam

from tollway.testing.stack import RunningStack

HI_OPENAI: list[ChatCompletionUserMessageParam] = [{"role": "user", "content": "Say hello"}]
HI_ANTHROPIC: list[MessageParam] = [{"role": "user", "content": "Say hello"}]


@dataclass(frozen=True)
class Outcome:
    """One request of the load and how it ended.

    ``ok``; ``clean`` (a 4xx, or a 503 with Retry-After); ``bad`` (any other 5xx); ``refused`` (no answer at all);
    ``cut`` (a stream broken after its 200).
    """

    fault: str
    started: float
    ended: float
    kind: str
    request_id: str | None = None
    answer: str = ""  # "503 upstream_unavailable" for an error answer, so a report can say what went wrong


class SteadyLoad:
    """``lanes`` SDK clients in a loop: plain and streamed OpenAI chat and Anthropic messages, in turn."""

    def __init__(self, stack: RunningStack, lanes: int = 4) -> None:
        self.openai = openai.AsyncOpenAI(
            base_url=f"{stack.base_url}/v1", api_key=stack.api_key, max_retries=0, timeout=30
        )
        self.anthropic = anthropic.AsyncAnthropic(
            base_url=stack.base_url, api_key=stack.api_key, max_retries=0, timeout=30
        )
        self.lanes = lanes
        self.fault = "steady"
        self.outcomes: list[Outcome] = []

    async def run(self, stop: asyncio.Event) -> None:
        async def lane(first: int) -> None:
            i = first
            while not stop.is_set():
                fault, started = self.fault, time.monotonic()
                kind, request_id, answer = await self._one(i)
                self.outcomes.append(Outcome(fault, started, time.monotonic(), kind, request_id, answer))
                i += self.lanes
                if kind != "ok":
                    await asyncio.sleep(0.05)  # a client backs off a little on errors

        await asyncio.gather(*(lane(n) for n in range(self.lanes)))

    async def close(self) -> None:
        await self.openai.close()
        await self.anthropic.close()

    async def _one(self, i: int) -> tuple[str, str | None, str]:
        try:
            return "ok", await (self._chat, self._streamed_chat, self._messages)[i % 3](), ""
        except (openai.APIStatusError, anthropic.APIStatusError) as exc:
            kind = _status_kind(exc.status_code, exc.response.headers.get("retry-after"))
            return kind, exc.response.headers.get("x-request-id"), f"{exc.status_code} {_error_code(exc.body)}"
        except (openai.APIConnectionError, anthropic.APIConnectionError) as exc:
            return "refused", None, type(exc.__cause__ or exc).__name__
        except StreamCutError as exc:
            return "cut", exc.request_id, str(exc.__cause__ or "no usage chunk")[:80]

    async def _chat(self) -> str:
        raw = await self.openai.chat.completions.with_raw_response.create(
            model="gpt-4o-mini",
            messages=HI_OPENAI,
            max_tokens=16,
        )
        raw.parse()
        return str(raw.headers["x-request-id"])

    async def _streamed_chat(self) -> str:
        raw = await self.openai.chat.completions.with_raw_response.create(
            model="gpt-4o-mini",
            messages=HI_OPENAI,
            max_tokens=16,
            stream=True,
            stream_options={"include_usage": True},
        )
        request_id = str(raw.headers["x-request-id"])
        try:
            chunks = [chunk async for chunk in raw.parse()]
        except (openai.APIError, httpx.HTTPError) as exc:
            raise StreamCutError(request_id) from exc
        if not chunks or chunks[-1].usage is None:
            raise StreamCutError(request_id)
        return request_id

    async def _messages(self) -> str:
        raw = await self.anthropic.messages.with_raw_response.create(
            model="claude-3-5-haiku",
            max_tokens=16,
            messages=HI_ANTHROPIC,
        )
        await raw.parse()
        return str(raw.headers["x-request-id"])


class StreamCutError(Exception):
    def __init__(self, request_id: str) -> None:
        super().__init__(request_id)
        self.request_id = request_id


def _error_code(body: object) -> str:
    """The ``code`` (OpenAI) or ``type`` (Anthropic) of an error body, whichever shape it came in."""
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            return str(inner.get("code") or inner.get("type") or "")
    return ""


def _status_kind(status: int, retry_after: str | None) -> str:
    if status < 500 or (status == 503 and retry_after):
        return "clean"
    return "bad"
