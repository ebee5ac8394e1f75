"""Amazon Bedrock Converse wire shapes (camelCase on the wire): request, response, usage and stream payloads.

A Converse content block is a union by key (``{"text": …}``, ``{"toolUse": …}``), not by a ``type`` tag, so
one Struct holds every kind with the others left out.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec


class Wire(msgspec.Struct, omit_defaults=True, kw_only=True, rename="camel"):
    """Base: ``None`` fields are left out of encoded bodies, unknown fields are ignored when decoding."""


class ImageSource(Wire):
    bytes: str  # base64 in the JSON protocol


class Image(Wire):
    format: str
    source: ImageSource


class ToolUse(Wire):
    tool_use_id: str
    name: str
    input: dict[str, Any]


class ToolResultPart(Wire):
    text: str | None = None
    image: Image | None = None


class ToolResult(Wire):
    tool_use_id: str
    content: list[ToolResultPart]
    status: Literal["success", "error"] | None = None


class Block(Wire):
    text: str | None = None
    image: Image | None = None
    tool_use: ToolUse | None = None
    tool_result: ToolResult | None = None


class Turn(Wire):
    role: Literal["user", "assistant"]
    content: list[Block]


class SystemBlock(Wire):
    text: str


class InferenceConfig(Wire):
    max_tokens: int
    temperature: float | None = None
    top_p: float | None = None
    stop_sequences: list[str] | None = None


class InputSchema(Wire):
    json: dict[str, Any]


class ToolSpec(Wire):
    name: str
    input_schema: InputSchema
    description: str | None = None


class ToolEntry(Wire):
    tool_spec: ToolSpec


class NamedTool(Wire):
    name: str


class ToolChoiceWire(Wire):
    auto: dict[str, Any] | None = None
    any: dict[str, Any] | None = None
    tool: NamedTool | None = None


class ToolConfig(Wire):
    tools: list[ToolEntry]
    tool_choice: ToolChoiceWire | None = None


class ConverseIn(Wire):
    messages: list[Turn]
    inference_config: InferenceConfig
    system: list[SystemBlock] | None = None
    tool_config: ToolConfig | None = None
    additional_model_request_fields: dict[str, Any] | None = None


class UsageWire(Wire):
    """Bedrock's ``inputTokens`` excludes cache reads and writes, which are reported beside it."""

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_write_input_tokens: int = 0


class OutputMessage(Wire):
    role: str = "assistant"
    content: list[Block] = []


class Output(Wire):
    message: OutputMessage = msgspec.field(default_factory=OutputMessage)


class ConverseOut(Wire):
    output: Output = msgspec.field(default_factory=Output)
    stop_reason: str | None = None
    usage: UsageWire | None = None


class ToolUseStart(Wire):
    tool_use_id: str = ""
    name: str = ""


class BlockStart(Wire):
    tool_use: ToolUseStart | None = None


class ToolUseDelta(Wire):
    input: str = ""


class BlockDelta(Wire):
    text: str | None = None
    tool_use: ToolUseDelta | None = None


class StreamPayload(Wire):
    """Every ConverseStream event payload in one shape; each event type fills its own fields."""

    content_block_index: int = 0
    start: BlockStart | None = None
    delta: BlockDelta | None = None
    stop_reason: str | None = None
    usage: UsageWire | None = None
    message: str | None = None  # exception events
