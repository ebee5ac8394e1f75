"""Canonical answers → Bedrock ``Converse`` bodies and ``ConverseStream`` event streams, as botocore parses them.

Usage maps back the way ``usage_from_bedrock`` reads it: ``inputTokens`` excludes cache reads and writes, which
are reported beside it, and ``totalTokens`` adds every count up.
"""

from __future__ import annotations

from typing import Any

import msgspec

from tollway.contracts.public_errors import bedrock_error_body
from tollway.inference_router.domain.anthropic_body import anthropic_tool_id
from tollway.inference_router.domain.aws_event_stream import event_frame, exception_frame
from tollway.inference_router.domain.canonical import ChatResponse, FinishReason, Usage
from tollway.inference_router.domain.deltas import Finish, StreamDelta, TextDelta, ToolCallArguments, ToolCallStart
from tollway.inference_router.domain.request_rules import decode_arguments

_ENCODER = msgspec.json.Encoder()
_STOP: dict[FinishReason, str] = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "content_filter": "content_filtered",
}
# The in-stream exception events of ConverseStream, by the HTTP status the same failure has outside a stream.
_STREAM_EXCEPTIONS = {
    400: "validationException",
    422: "validationException",
    424: "modelStreamErrorException",
    429: "throttlingException",
    502: "serviceUnavailableException",
    503: "serviceUnavailableException",
}
_METRICS = {"latencyMs": 0}  # required by the shape; the router does not time the upstream per answer here


def usage_to_bedrock(usage: Usage) -> dict[str, int]:
    return {
        "inputTokens": usage.uncached_prompt_tokens,
        "outputTokens": usage.completion_tokens,
        "totalTokens": usage.total_tokens,
        "cacheReadInputTokens": usage.cache_read_tokens,
        "cacheWriteInputTokens": usage.cache_write_tokens,
    }


def stop_reason_to_bedrock(reason: FinishReason, stop_sequence: str | None = None) -> str:
    return "stop_sequence" if reason == "stop" and stop_sequence else _STOP[reason]


def encode_converse_response(response: ChatResponse) -> bytes:
    content: list[dict[str, Any]] = [{"text": response.content}] if response.content else []
    content += [
        {"toolUse": {"toolUseId": anthropic_tool_id(c.id), "name": c.name, "input": decode_arguments(c.arguments)}}
        for c in response.tool_calls
    ]
    body = {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": stop_reason_to_bedrock(response.finish_reason, response.stop_sequence),
        "usage": usage_to_bedrock(response.usage or Usage()),
        "metrics": _METRICS,
    }
    return _ENCODER.encode(body)


def _event(event_type: str, payload: dict[str, Any]) -> bytes:
    return event_frame(event_type, _ENCODER.encode(payload))


class ConverseStreamEncoder:
    """messageStart, then per content block a start (tool use only), deltas and a stop; messageStop; metadata."""

    def __init__(self) -> None:
        self._started = False
        self._open: int | None = None  # the content block being streamed
        self._blocks = 0
        self._tool_blocks: dict[int, int] = {}  # tool call index → content block index
        self._finish = Finish(reason="stop")

    def feed(self, delta: StreamDelta) -> bytes:
        head = self._start()
        match delta:
            case TextDelta() if delta.text:
                if self._open is None or self._open in self._tool_blocks.values():
                    head += self._open_block()
                return head + self._delta({"text": delta.text})
            case ToolCallStart():
                head += self._open_block()
                self._tool_blocks[delta.index] = self._blocks - 1
                use = {"toolUseId": anthropic_tool_id(delta.id), "name": delta.name}
                return head + _event("contentBlockStart", {"contentBlockIndex": self._open, "start": {"toolUse": use}})
            case ToolCallArguments() if delta.arguments and self._tool_blocks.get(delta.index) == self._open:
                return head + self._delta({"toolUse": {"input": delta.arguments}})
            case Finish():
                self._finish = delta
        return head

    def close(self, usage: Usage | None = None) -> bytes:
        stop = stop_reason_to_bedrock(self._finish.reason, self._finish.stop_sequence)
        return (
            self._start()
            + self._close_block()
            + _event("messageStop", {"stopReason": stop})
            + _event("metadata", {"usage": usage_to_bedrock(usage or Usage()), "metrics": _METRICS})
        )

    def error(self, status: int, message: str) -> bytes:
        kind = _STREAM_EXCEPTIONS.get(status, "internalServerException")
        return exception_frame(kind, bedrock_error_body(message))

    def _start(self) -> bytes:
        if self._started:
            return b""
        self._started = True
        return _event("messageStart", {"role": "assistant"})

    def _delta(self, delta: dict[str, Any]) -> bytes:
        return _event("contentBlockDelta", {"contentBlockIndex": self._open, "delta": delta})

    def _open_block(self) -> bytes:
        closing = self._close_block()
        self._open = self._blocks
        self._blocks += 1
        return closing

    def _close_block(self) -> bytes:
        if self._open is None:
            return b""
        index, self._open = self._open, None
        return _event("contentBlockStop", {"contentBlockIndex": index})
