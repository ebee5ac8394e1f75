"""Anthropic Messages wire shapes: request blocks, response message, usage and stream events."""

from __future__ import annotations

from typing import Any, Literal

import msgspec


class Wire(msgspec.Struct, omit_defaults=True, kw_only=True):
    """Base: ``None`` fields are left out of encoded bodies, unknown fields are ignored when decoding."""


class TextBlock(Wire, tag="text", tag_field="type"):
    text: str


class Base64Source(Wire, tag="base64", tag_field="type"):
    media_type: str
    data: str


class UrlSource(Wire, tag="url", tag_field="type"):
    url: str


class ImageBlock(Wire, tag="image", tag_field="type"):
    source: Base64Source | UrlSource


class ToolUseBlock(msgspec.Struct, kw_only=True, tag="tool_use", tag_field="type"):
    id: str
    name: str
    input: dict[str, Any]


class ToolResultBlock(Wire, tag="tool_result", tag_field="type"):
    tool_use_id: str
    content: str | list[TextBlock | ImageBlock] | None = None
    is_error: bool | None = None


class ThinkingBlock(Wire, tag="thinking", tag_field="type"):
    thinking: str = ""
    signature: str = ""


class RedactedThinkingBlock(Wire, tag="redacted_thinking", tag_field="type"):
    data: str = ""


Block = TextBlock | ImageBlock | ToolUseBlock | ToolResultBlock | ThinkingBlock | RedactedThinkingBlock


class MessageIn(Wire):
    role: Literal["user", "assistant"]
    content: str | list[Block]


class ToolDefinition(Wire):
    name: str
    input_schema: dict[str, Any]
    description: str | None = None


AnthropicChoice = Literal["auto", "any", "tool", "none"]


class ToolChoiceIn(Wire):
    type: AnthropicChoice
    name: str | None = None
    disable_parallel_tool_use: bool | None = None


class MetadataIn(Wire):
    user_id: str | None = None


class MessagesIn(Wire):
    model: str
    messages: list[MessageIn]
    max_tokens: int
    system: str | list[TextBlock] | None = None
    metadata: MetadataIn | None = None
    stop_sequences: list[str] | None = None
    stream: bool | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    tools: list[ToolDefinition] | None = None
    tool_choice: ToolChoiceIn | None = None


class CacheCreationWire(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The split of ``cache_creation_input_tokens`` by cache TTL."""

    ephemeral_5m_input_tokens: int = 0
    ephemeral_1h_input_tokens: int = 0


class UsageWire(msgspec.Struct, kw_only=True):
    input_tokens: int | None = None
    output_tokens: int = 0
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    # Read when an upstream sends it; UNSET is never encoded, so public bodies keep their shape.
    cache_creation: CacheCreationWire | msgspec.UnsetType = msgspec.UNSET


class AnyBlock(msgspec.Struct, kw_only=True):
    """Any response content block, decoded leniently: block types we do not translate are skipped, not fatal."""

    type: str
    text: str | None = None
    id: str | None = None
    name: str | None = None
    input: dict[str, Any] | None = None


class MessageOut(msgspec.Struct, kw_only=True):
    id: str = ""
    type: Literal["message"] = "message"
    role: Literal["assistant"] = "assistant"
    model: str = ""
    content: list[TextBlock | ToolUseBlock] = []
    stop_reason: str | None = None
    stop_sequence: str | None = None
    usage: UsageWire = msgspec.field(default_factory=UsageWire)


class MessageReceived(msgspec.Struct, kw_only=True):
    """An upstream's message (whole response or ``message_start``), decoded leniently."""

    id: str = ""
    model: str = ""
    content: list[AnyBlock] = []
    stop_reason: str | None = None
    stop_sequence: str | None = None
    usage: UsageWire | None = None


class EventDelta(msgspec.Struct, kw_only=True):
    type: str | None = None
    text: str | None = None
    partial_json: str | None = None
    stop_reason: str | None = None
    stop_sequence: str | None = None


class EventError(msgspec.Struct, kw_only=True):
    type: str = "api_error"
    message: str = ""


class StreamEventIn(msgspec.Struct, kw_only=True):
    """Any upstream stream event, decoded leniently by its ``type``."""

    type: str
    message: MessageReceived | None = None
    index: int = 0
    content_block: AnyBlock | None = None
    delta: EventDelta | None = None
    usage: UsageWire | None = None
    error: EventError | None = None


class TextDeltaOut(msgspec.Struct, tag="text_delta", tag_field="type"):
    text: str


class InputJsonDeltaOut(msgspec.Struct, tag="input_json_delta", tag_field="type"):
    partial_json: str


class MessageStartEvent(msgspec.Struct, tag="message_start", tag_field="type"):
    message: MessageOut


class ContentBlockStartEvent(msgspec.Struct, tag="content_block_start", tag_field="type"):
    index: int
    content_block: TextBlock | ToolUseBlock


class ContentBlockDeltaEvent(msgspec.Struct, tag="content_block_delta", tag_field="type"):
    index: int
    delta: TextDeltaOut | InputJsonDeltaOut


class ContentBlockStopEvent(msgspec.Struct, tag="content_block_stop", tag_field="type"):
    index: int


class MessageDeltaBody(msgspec.Struct):
    stop_reason: str | None
    stop_sequence: str | None


class MessageDeltaEvent(msgspec.Struct, tag="message_delta", tag_field="type"):
    delta: MessageDeltaBody
    usage: UsageWire


class MessageStopEvent(msgspec.Struct, tag="message_stop", tag_field="type"):
    pass
