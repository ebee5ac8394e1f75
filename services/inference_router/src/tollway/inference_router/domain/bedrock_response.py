"""Bedrock Converse answers → canonical responses, usage and finish reasons (shared by the stream decoder)."""

from __future__ import annotations

import msgspec

from tollway.inference_router.domain.bedrock_wire import ConverseOut, UsageWire
from tollway.inference_router.domain.canonical import ChatResponse, FinishReason, ToolCall, Usage, usage_from_parts
from tollway.inference_router.domain.errors import UpstreamProtocolError

_DECODER = msgspec.json.Decoder(ConverseOut)
_ENCODER = msgspec.json.Encoder()
_FINISH: dict[str, FinishReason] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
}


def finish_from_bedrock(stop_reason: str | None) -> FinishReason:
    return _FINISH.get(stop_reason or "", "stop")


def usage_from_bedrock(wire: UsageWire) -> Usage:
    """Cache reads and writes sit beside ``inputTokens`` (as with Anthropic), so they add into the prompt."""
    return usage_from_parts(
        uncached=wire.input_tokens,
        cache_read=wire.cache_read_input_tokens,
        cache_write=wire.cache_write_input_tokens,
        completion=wire.output_tokens,
    )


def parse_bedrock_response(body: bytes, *, response_id: str, model: str) -> ChatResponse:
    """A Converse body has no id or model of its own: the caller names both."""
    try:
        wire = _DECODER.decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError) as error:
        raise UpstreamProtocolError(f"upstream sent an invalid Converse response: {error}") from None
    blocks = wire.output.message.content
    texts = [block.text for block in blocks if block.text is not None]
    calls = tuple(
        ToolCall(id=b.tool_use.tool_use_id, name=b.tool_use.name, arguments=_ENCODER.encode(b.tool_use.input).decode())
        for b in blocks
        if b.tool_use is not None
    )
    return ChatResponse(
        id=response_id,
        model=model,
        content="".join(texts) if texts or not calls else None,
        tool_calls=calls,
        finish_reason=finish_from_bedrock(wire.stop_reason),
        usage=usage_from_bedrock(wire.usage) if wire.usage is not None else None,
    )
