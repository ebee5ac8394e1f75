"""Canonical answers → Gemini ``GenerateContentResponse`` bodies, and the ``streamGenerateContent?alt=sse`` chunks.

Usage maps back the way ``gemini_usage`` reads it: ``promptTokenCount`` includes cached content, and
``candidatesTokenCount`` excludes thinking, which ``thoughtsTokenCount`` reports apart.
"""

from __future__ import annotations

from typing import Any

import msgspec

from tollway.contracts.public_errors import gemini_error_body
from tollway.inference_router.domain.canonical import ChatResponse, FinishReason, ToolCall, Usage
from tollway.inference_router.domain.deltas import Finish, StreamDelta, TextDelta, ToolCallArguments, ToolCallStart
from tollway.inference_router.domain.request_rules import decode_arguments

_ENCODER = msgspec.json.Encoder()
_FINISH: dict[FinishReason, str] = {
    "stop": "STOP",
    "tool_calls": "STOP",  # Gemini ends a turn of function calls with STOP too
    "length": "MAX_TOKENS",
    "content_filter": "SAFETY",
}


def usage_to_gemini(usage: Usage) -> dict[str, int]:
    wire = {
        "promptTokenCount": usage.prompt_tokens,
        "candidatesTokenCount": max(0, usage.completion_tokens - usage.reasoning_tokens),
        "totalTokenCount": usage.total_tokens,
    }
    if usage.cache_read_tokens:
        wire["cachedContentTokenCount"] = usage.cache_read_tokens
    if usage.reasoning_tokens:
        wire["thoughtsTokenCount"] = usage.reasoning_tokens
    return wire


def _call_part(call: ToolCall) -> dict[str, Any]:
    return {"functionCall": {"id": call.id, "name": call.name, "args": decode_arguments(call.arguments)}}


def _chunk(
    parts: list[dict[str, Any]], *, model: str, response_id: str, finish: str | None = None, usage: Usage | None = None
) -> dict[str, Any]:
    candidate: dict[str, Any] = {"index": 0}
    if parts:
        candidate["content"] = {"role": "model", "parts": parts}
    if finish is not None:
        candidate["finishReason"] = finish
    body: dict[str, Any] = {"candidates": [candidate], "modelVersion": model, "responseId": response_id}
    if usage is not None:
        body["usageMetadata"] = usage_to_gemini(usage)
    return body


def encode_gemini_response(response: ChatResponse, *, model: str, response_id: str) -> bytes:
    parts: list[dict[str, Any]] = [{"text": response.content}] if response.content else []
    parts += [_call_part(call) for call in response.tool_calls]
    finish = _FINISH[response.finish_reason]
    return _ENCODER.encode(
        _chunk(parts, model=model, response_id=response_id, finish=finish, usage=response.usage or Usage())
    )


def _event(body: dict[str, Any] | bytes) -> bytes:
    data = body if isinstance(body, bytes) else _ENCODER.encode(body)
    return b"data: " + data + b"\r\n\r\n"


class GeminiStreamEncoder:
    """One SSE ``data:`` chunk per text delta; function calls go out whole in the last chunk, as Gemini sends them.

    The last chunk carries ``finishReason`` and the whole ``usageMetadata``: Gemini streams have no end marker.
    """

    def __init__(self, *, response_id: str, model: str) -> None:
        self._id, self._model = response_id, model
        self._calls: dict[int, tuple[str, str, list[str]]] = {}
        self._finish: FinishReason = "stop"

    def feed(self, delta: StreamDelta) -> bytes:
        match delta:
            case TextDelta() if delta.text:
                return _event(_chunk([{"text": delta.text}], model=self._model, response_id=self._id))
            case ToolCallStart():
                self._calls[delta.index] = (delta.id, delta.name, [])
            case ToolCallArguments() if delta.index in self._calls:
                self._calls[delta.index][2].append(delta.arguments)
            case Finish():
                self._finish = delta.reason
        return b""

    def close(self, usage: Usage | None = None) -> bytes:
        calls = [
            ToolCall(id=i, name=n, arguments="".join(a)) for i, n, a in (self._calls[k] for k in sorted(self._calls))
        ]
        parts = [_call_part(call) for call in calls]
        last = _chunk(
            parts, model=self._model, response_id=self._id, finish=_FINISH[self._finish], usage=usage or Usage()
        )
        return _event(last)

    def error(self, status: int, message: str) -> bytes:
        """Gemini reports a failure inside a started stream as a chunk holding only ``error``."""
        return _event(gemini_error_body(status, message))
