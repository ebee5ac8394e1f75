"""Anthropic message bodies ⇄ canonical responses; Anthropic usage and stop-reason mapping."""

from __future__ import annotations

import msgspec

from tollway.inference_router.domain.anthropic_wire import (
    MessageOut,
    MessageReceived,
    TextBlock,
    ToolUseBlock,
    UsageWire,
)
from tollway.inference_router.domain.canonical import ChatResponse, FinishReason, ToolCall, Usage, usage_from_parts
from tollway.inference_router.domain.errors import UpstreamProtocolError
from tollway.inference_router.domain.request_rules import decode_arguments

_DECODER = msgspec.json.Decoder(MessageReceived)
_ENCODER = msgspec.json.Encoder()
_FINISH: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",  # a server-tool loop paused; to a chat client the turn simply ended
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
_STOP_REASON: dict[FinishReason, str] = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "content_filter": "refusal",
}


def finish_from_anthropic(stop_reason: str | None) -> FinishReason:
    return _FINISH.get(stop_reason or "", "stop")


def stop_reason_to_anthropic(reason: FinishReason, stop_sequence: str | None = None) -> str:
    """A ``stop`` that names the stop sequence that caused it is Anthropic's ``stop_sequence``."""
    if reason == "stop" and stop_sequence is not None:
        return "stop_sequence"
    return _STOP_REASON[reason]


def usage_from_anthropic(wire: UsageWire) -> Usage:
    """Anthropic reports cache reads and writes beside ``input_tokens``, so they are added into the prompt total."""
    return usage_from_parts(
        uncached=wire.input_tokens or 0,
        cache_read=wire.cache_read_input_tokens or 0,
        cache_write=wire.cache_creation_input_tokens or 0,
        completion=wire.output_tokens,
        cache_write_1h=0 if wire.cache_creation is msgspec.UNSET else wire.cache_creation.ephemeral_1h_input_tokens,
    )


def usage_to_anthropic(usage: Usage) -> UsageWire:
    return UsageWire(
        input_tokens=usage.uncached_prompt_tokens,
        output_tokens=usage.completion_tokens,
        cache_creation_input_tokens=usage.cache_write_tokens,
        cache_read_input_tokens=usage.cache_read_tokens,
    )


def parse_anthropic_response(body: bytes) -> ChatResponse:
    """An upstream's non-stream message; raises ``UpstreamProtocolError`` when it is not one."""
    try:
        wire = _DECODER.decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError) as error:
        raise UpstreamProtocolError(f"upstream sent an invalid message: {error}") from None
    texts = [block.text or "" for block in wire.content if block.type == "text"]
    calls = tuple(
        ToolCall(id=block.id or "", name=block.name or "", arguments=_ENCODER.encode(block.input or {}).decode())
        for block in wire.content
        if block.type == "tool_use"
    )
    return ChatResponse(
        id=wire.id,
        model=wire.model,
        content="".join(texts) if texts else None,
        tool_calls=calls,
        finish_reason=finish_from_anthropic(wire.stop_reason),
        stop_sequence=wire.stop_sequence,
        usage=usage_from_anthropic(wire.usage) if wire.usage is not None else None,
    )


def encode_anthropic_response(response: ChatResponse, *, model: str) -> bytes:
    """The public body for ``response``, naming ``model`` (the public model id the client asked for)."""
    return _ENCODER.encode(anthropic_response_wire(response, model=model))


def anthropic_response_wire(response: ChatResponse, *, model: str) -> MessageOut:
    blocks: list[TextBlock | ToolUseBlock] = [TextBlock(text=response.content)] if response.content else []
    blocks += [
        ToolUseBlock(id=call.id, name=call.name, input=decode_arguments(call.arguments)) for call in response.tool_calls
    ]
    return MessageOut(
        id=response.id,
        model=model,
        content=blocks,
        stop_reason=stop_reason_to_anthropic(response.finish_reason, response.stop_sequence),
        stop_sequence=response.stop_sequence,
        usage=usage_to_anthropic(response.usage or Usage()),
    )
