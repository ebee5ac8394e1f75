"""The Vercel AI SDK chat route (``POST /api/chat/ai-sdk``): ``useChat`` messages in, the data stream protocol out.

Data stream (v1, header ``x-vercel-ai-data-stream: v1``): ``f:`` starts the step, ``0:"text"`` per text piece,
``b:``/``c:``/``9:`` stream a tool call, ``e:`` ends the step and ``d:`` the message, each with the finish reason
and usage; ``3:"message"`` reports an error. ``stream: false`` answers one JSON message instead.
"""

from __future__ import annotations

from typing import Any

import msgspec

from tollway.inference_router.domain.canonical import ChatRequest, ChatResponse, Content, FinishReason, Message, Usage
from tollway.inference_router.domain.canonical import TextPart as CanonicalText
from tollway.inference_router.domain.deltas import Finish, StreamDelta, TextDelta, ToolCallArguments, ToolCallStart
from tollway.inference_router.domain.errors import UNDECODABLE, from_validation_error
from tollway.inference_router.domain.openai_request import OPENAI_MAX_TEMPERATURE
from tollway.inference_router.domain.request_rules import check_request

DATA_STREAM_HEADER = ("x-vercel-ai-data-stream", "v1")
_ENCODER = msgspec.json.Encoder()
_FINISH = {"stop": "stop", "length": "length", "tool_calls": "tool-calls", "content_filter": "content-filter"}


class UiPart(msgspec.Struct, frozen=True, kw_only=True):
    type: str
    text: str | None = None


class UiMessage(msgspec.Struct, frozen=True, kw_only=True):
    role: str
    content: str | None = None
    parts: list[UiPart] = []


class AiSdkIn(msgspec.Struct, frozen=True, kw_only=True):
    model: str
    messages: list[UiMessage]
    system: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    stream: bool = True


_DECODER = msgspec.json.Decoder(AiSdkIn)


def decode_ai_sdk_request(body: bytes) -> ChatRequest:
    try:
        wire = _DECODER.decode(body)
    except UNDECODABLE as error:
        raise from_validation_error(error) from None
    messages = [Message(role="system", content=wire.system)] if wire.system else []
    messages += [_message(m) for m in wire.messages if m.role in {"system", "user", "assistant"}]
    request = ChatRequest(
        model=wire.model,
        messages=tuple(messages),
        max_tokens=wire.max_tokens,
        temperature=wire.temperature,
        stream=wire.stream,
    )
    check_request(request, max_temperature=OPENAI_MAX_TEMPERATURE)
    return request


def _message(wire: UiMessage) -> Message:
    """``parts`` (AI SDK 4.2+) win over ``content``; only text parts reach the model."""
    texts = [part.text for part in wire.parts if part.type == "text" and part.text]
    content: Content = tuple(CanonicalText(text) for text in texts) if texts else (wire.content or "")
    return Message(role=wire.role, content=content)  # type: ignore[arg-type]


def _usage(usage: Usage) -> dict[str, int]:
    return {"promptTokens": usage.prompt_tokens, "completionTokens": usage.completion_tokens}


def encode_ai_sdk_response(response: ChatResponse, *, response_id: str) -> bytes:
    calls = [{"toolCallId": c.id, "toolName": c.name, "args": c.arguments} for c in response.tool_calls]
    body = {
        "id": response_id,
        "role": "assistant",
        "content": response.content or "",
        "toolCalls": calls,
        "finishReason": _FINISH[response.finish_reason],
        "usage": _usage(response.usage or Usage()),
    }
    return _ENCODER.encode(body)


def _line(code: str, value: Any) -> bytes:
    return code.encode() + b":" + _ENCODER.encode(value) + b"\n"


class AiSdkStreamEncoder:
    """Deltas → data stream lines; tool calls stream as ``b:`` then ``c:`` pieces, completed by ``9:`` at the end."""

    def __init__(self, *, message_id: str) -> None:
        self._message_id = message_id
        self._started = False
        self._calls: dict[int, list[str]] = {}  # tool index → [id, name, arguments…]
        self._finish: FinishReason = "stop"

    def feed(self, delta: StreamDelta) -> bytes:
        out = b"" if self._started else _line("f", {"messageId": self._message_id})
        self._started = True
        match delta:
            case TextDelta() if delta.text:
                out += _line("0", delta.text)
            case ToolCallStart():
                self._calls[delta.index] = [delta.id, delta.name]
                out += _line("b", {"toolCallId": delta.id, "toolName": delta.name})
            case ToolCallArguments() if delta.index in self._calls:
                self._calls[delta.index].append(delta.arguments)
                out += _line("c", {"toolCallId": self._calls[delta.index][0], "argsTextDelta": delta.arguments})
            case Finish():
                self._finish = delta.reason
        return out

    def close(self, usage: Usage | None = None) -> bytes:
        out = b"" if self._started else _line("f", {"messageId": self._message_id})
        for call_id, name, *pieces in (self._calls[i] for i in sorted(self._calls)):
            args = _json_or_text("".join(pieces))
            out += _line("9", {"toolCallId": call_id, "toolName": name, "args": args})
        finish = {"finishReason": _FINISH[self._finish], "usage": _usage(usage or Usage())}
        return out + _line("e", {**finish, "isContinued": False}) + _line("d", finish)

    def error(self, status: int, message: str) -> bytes:
        return _line("3", message)


def _json_or_text(text: str) -> object:
    try:
        return msgspec.json.decode(text) if text else {}
    except msgspec.DecodeError:
        return text
