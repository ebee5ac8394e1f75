"""Public Bedrock Runtime ``Converse`` / ``ConverseStream`` bodies → canonical requests (what botocore sends)."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from tollway.inference_router.domain.canonical import (
    ChatRequest,
    ContentPart,
    ImagePart,
    Message,
    TextPart,
    Tool,
    ToolCall,
    ToolChoice,
)
from tollway.inference_router.domain.errors import invalid_field
from tollway.inference_router.domain.native_envelope import convert, open_envelope
from tollway.inference_router.domain.request_rules import check_request

BEDROCK_MAX_TEMPERATURE = 1.0
_ENCODER = msgspec.json.Encoder()
# Blocks that name Bedrock-side resources or features no other provider has: refused rather than dropped.
_UNSUPPORTED_BLOCKS = ("document", "video", "audio", "guardContent", "citationsContent", "searchResult")


class In(msgspec.Struct, kw_only=True, rename="camel"):
    """Unknown fields (``requestMetadata``, ``performanceConfig``...) are ignored."""


class ImageSourceIn(In):
    bytes: str  # base64 in the JSON protocol (botocore encodes the blob)


class ImageIn(In):
    format: Literal["png", "jpeg", "gif", "webp"]
    source: ImageSourceIn


class ToolUseIn(In):
    tool_use_id: str
    name: str
    input: dict[str, Any] = {}


class ToolResultPartIn(In):
    text: str | None = None
    json: Any = None
    image: ImageIn | None = None


class ToolResultIn(In):
    tool_use_id: str
    content: list[ToolResultPartIn] = []
    status: Literal["success", "error"] | None = None


class BlockIn(In):
    """A content block is a union by key: the one key present says what it is (``cachePoint`` is skipped)."""

    text: str | None = None
    image: ImageIn | None = None
    tool_use: ToolUseIn | None = None
    tool_result: ToolResultIn | None = None
    document: Any = None
    video: Any = None
    audio: Any = None
    guard_content: Any = None
    citations_content: Any = None
    search_result: Any = None


class TurnIn(In):
    role: Literal["user", "assistant"]
    content: list[BlockIn]


class SystemBlockIn(In):
    text: str | None = None


class InferenceConfigIn(In):
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop_sequences: list[str] | None = None


class InputSchemaIn(In):
    json: dict[str, Any] | None = None


class ToolSpecIn(In):
    name: str
    description: str | None = None
    input_schema: InputSchemaIn | None = None


class ToolEntryIn(In):
    tool_spec: ToolSpecIn | None = None  # absent on a ``cachePoint`` entry


class NamedToolIn(In):
    name: str


class ToolChoiceIn(In):
    auto: dict[str, Any] | None = None
    any: dict[str, Any] | None = None
    tool: NamedToolIn | None = None


class ToolConfigIn(In):
    tools: list[ToolEntryIn] = []
    tool_choice: ToolChoiceIn | None = None


class ConverseRequestIn(In):
    messages: list[TurnIn] = []
    system: list[SystemBlockIn] | None = None
    inference_config: InferenceConfigIn | None = None
    tool_config: ToolConfigIn | None = None
    additional_model_request_fields: dict[str, Any] | None = None
    guardrail_config: Any = None
    prompt_variables: Any = None


def decode_bedrock_request(body: bytes) -> ChatRequest:
    """Decode and validate a forwarded Converse body (400 malformed, 422 what only Bedrock itself could do)."""
    envelope, document = open_envelope(body)
    wire = convert(document, ConverseRequestIn)
    if wire.guardrail_config is not None:
        raise invalid_field("guardrailConfig", "Bedrock guardrails are not available through this gateway")
    if wire.prompt_variables is not None:
        raise invalid_field("promptVariables", "Bedrock prompt management is not available through this gateway")
    config = wire.inference_config or InferenceConfigIn()
    tools = _tools(wire.tool_config)
    extra = wire.additional_model_request_fields or {}
    top_k = extra.get("top_k")
    request = ChatRequest(
        model=envelope.model,
        messages=(*_system(wire.system), *_conversation(wire.messages)),
        tools=tools,
        tool_choice=_tool_choice(wire.tool_config) if tools else None,
        max_tokens=config.max_tokens,
        temperature=config.temperature,
        top_p=config.top_p,
        top_k=top_k if isinstance(top_k, int) and not isinstance(top_k, bool) else None,
        stop=tuple(config.stop_sequences or ()),
        stream=envelope.stream,
        include_usage=True,
    )
    check_request(request, max_temperature=BEDROCK_MAX_TEMPERATURE)
    return request


def _system(blocks: list[SystemBlockIn] | None) -> tuple[Message, ...]:
    text = "\n".join(block.text for block in blocks or () if block.text)
    return (Message(role="system", content=text),) if text else ()


def _conversation(turns: list[TurnIn]) -> list[Message]:
    messages: list[Message] = []
    for index, turn in enumerate(turns):
        where = f"messages[{index}].content"
        _refuse_unsupported(turn.content, where)
        if turn.role == "assistant":
            messages.append(_assistant(turn.content))
            continue
        messages += [_tool_result(block.tool_result) for block in turn.content if block.tool_result is not None]
        content = tuple(part for block in turn.content if (part := _part(block)) is not None)
        if content:
            messages.append(Message(role="user", content=content))
    return messages


def _refuse_unsupported(blocks: list[BlockIn], where: str) -> None:
    for index, block in enumerate(blocks):
        for name in _UNSUPPORTED_BLOCKS:
            if getattr(block, _snake(name)) is not None:
                raise invalid_field(f"{where}[{index}].{name}", "this content block is not supported here")


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def _assistant(blocks: list[BlockIn]) -> Message:
    text = "".join(block.text for block in blocks if block.text)
    calls = tuple(
        ToolCall(id=b.tool_use.tool_use_id, name=b.tool_use.name, arguments=_ENCODER.encode(b.tool_use.input).decode())
        for b in blocks
        if b.tool_use is not None
    )
    return Message(role="assistant", content=text or None, tool_calls=calls)


def _tool_result(result: ToolResultIn) -> Message:
    """Text and JSON parts become the result's text; images stay images."""
    parts: list[ContentPart] = []
    for part in result.content:
        if part.text is not None:
            parts.append(TextPart(part.text))
        elif part.json is not None:
            parts.append(TextPart(_ENCODER.encode(part.json).decode()))
        elif part.image is not None:
            parts.append(_image(part.image))
    only = parts[0] if len(parts) == 1 else None
    content: str | tuple[ContentPart, ...] = only.text if isinstance(only, TextPart) else tuple(parts)
    return Message(role="tool", tool_call_id=result.tool_use_id, content=content, is_error=result.status == "error")


def _part(block: BlockIn) -> ContentPart | None:
    if block.text is not None:
        return TextPart(block.text)
    if block.image is not None:
        return _image(block.image)
    return None  # tool results became their own messages; cache points carry nothing


def _image(image: ImageIn) -> ImagePart:
    return ImagePart(url=f"data:image/{image.format};base64,{image.source.bytes}")


def _tools(config: ToolConfigIn | None) -> tuple[Tool, ...]:
    if config is None:
        return ()
    return tuple(
        Tool(
            name=entry.tool_spec.name,
            description=entry.tool_spec.description,
            parameters=entry.tool_spec.input_schema.json if entry.tool_spec.input_schema else None,
        )
        for entry in config.tools
        if entry.tool_spec is not None
    )


def _tool_choice(config: ToolConfigIn | None) -> ToolChoice | None:
    choice = config.tool_choice if config is not None else None
    if choice is None or choice.auto is not None:
        return None
    if choice.tool is not None:
        return ToolChoice(mode="tool", name=choice.tool.name)
    return ToolChoice(mode="required") if choice.any is not None else None
