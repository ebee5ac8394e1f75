"""Canonical requests → Bedrock Converse bodies (for Bedrock upstreams, whatever format the client used)."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from tollway.inference_router.domain.anthropic_body import anthropic_tool_id
from tollway.inference_router.domain.bedrock_wire import (
    Block,
    ConverseIn,
    Image,
    ImageSource,
    InferenceConfig,
    InputSchema,
    NamedTool,
    SystemBlock,
    ToolChoiceWire,
    ToolConfig,
    ToolEntry,
    ToolResult,
    ToolResultPart,
    ToolSpec,
    ToolUse,
    Turn,
)
from tollway.inference_router.domain.canonical import ChatRequest, Content, ContentPart, Message, TextPart, ToolChoice
from tollway.inference_router.domain.request_rules import decode_arguments, split_data_url

_ENCODER = msgspec.json.Encoder()
_EMPTY_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}}
# Converse takes images inline only (bytes or S3), never by https URL: such an image is named in the text.
URL_IMAGE_NOTE = "[image not sent: Bedrock accepts inline (data:) images only] "


def encode_bedrock_request(request: ChatRequest, *, model: str, default_max_tokens: int) -> bytes:
    return _ENCODER.encode(bedrock_request_wire(request, model=model, default_max_tokens=default_max_tokens))


def bedrock_request_wire(request: ChatRequest, *, model: str, default_max_tokens: int) -> ConverseIn:
    # Bedrock's models take temperature in 0..1 where OpenAI's range is 0..2: clamp rather than fail over it.
    temperature = None if request.temperature is None else min(request.temperature, 1.0)
    config = InferenceConfig(
        max_tokens=request.max_tokens or default_max_tokens,
        temperature=temperature,
        top_p=request.top_p,
        stop_sequences=list(request.stop) or None,
    )
    extra = {"top_k": request.top_k} if request.top_k is not None and _is_anthropic(model) else None
    return ConverseIn(
        messages=_turns(request.messages),
        inference_config=config,
        system=_system(request.messages),
        tool_config=_tool_config(request),
        additional_model_request_fields=extra,
    )


def _is_anthropic(model: str) -> bool:
    """Anthropic model ids on Bedrock: ``anthropic.…``, or a cross-region profile such as ``us.anthropic.…``."""
    return model.startswith("anthropic.") or ".anthropic." in model


def _system(messages: tuple[Message, ...]) -> list[SystemBlock] | None:
    """Every system and developer message becomes a top-level system block, in order."""
    texts = [block.text for m in messages if m.role in {"system", "developer"} for block in _blocks(m.content)]
    return [SystemBlock(text=text) for text in texts if text] or None


def _turns(messages: tuple[Message, ...]) -> list[Turn]:
    """Conversation turns, tool results as user turns; Converse wants roles to alternate, so neighbours merge."""
    turns: list[Turn] = []
    for message in messages:
        if message.role in {"system", "developer"}:
            continue
        role: Literal["user", "assistant"] = "assistant" if message.role == "assistant" else "user"
        blocks = _message_blocks(message)
        if not blocks:
            continue
        if turns and turns[-1].role == role:
            turns[-1].content.extend(blocks)
        else:
            turns.append(Turn(role=role, content=blocks))
    return turns


def _message_blocks(message: Message) -> list[Block]:
    if message.role == "tool":
        return [Block(tool_result=_tool_result(message))]
    blocks = [block for block in _blocks(message.content) if block.text != ""]
    uses = [
        Block(tool_use=ToolUse(tool_use_id=anthropic_tool_id(c.id), name=c.name, input=decode_arguments(c.arguments)))
        for c in message.tool_calls
    ]
    return [*blocks, *uses]


def _tool_result(message: Message) -> ToolResult:
    parts = [ToolResultPart(text=b.text, image=b.image) for b in _blocks(message.content) if b.text or b.image]
    return ToolResult(
        tool_use_id=anthropic_tool_id(message.tool_call_id or ""),
        content=parts or [ToolResultPart(text="")],
        status="error" if message.is_error else None,
    )


def _blocks(content: Content | None) -> list[Block]:
    if content is None:
        return []
    if isinstance(content, str):
        return [Block(text=content)]
    return [_block(part) for part in content]


def _block(part: ContentPart) -> Block:
    if isinstance(part, TextPart):
        return Block(text=part.text)
    inline = split_data_url(part.url)
    if inline is None:
        return Block(text=URL_IMAGE_NOTE + part.url)
    media_type, data = inline
    return Block(
        image=Image(format=media_type.removeprefix("image/").replace("jpg", "jpeg"), source=ImageSource(bytes=data))
    )


def _tool_config(request: ChatRequest) -> ToolConfig | None:
    """Converse needs the tool list whenever the conversation holds tool calls, even with ``tool_choice`` none."""
    tools = [
        ToolEntry(
            tool_spec=ToolSpec(
                name=tool.name,
                description=tool.description,
                input_schema=InputSchema(json=tool.parameters or _EMPTY_SCHEMA),
            )
        )
        for tool in request.tools
    ]
    if not tools:
        return None
    return ToolConfig(tools=tools, tool_choice=_tool_choice(request.tool_choice))


def _tool_choice(choice: ToolChoice | None) -> ToolChoiceWire | None:
    """``none`` has no Converse equivalent: the tools stay listed (history may refer to them), nothing is forced."""
    if choice is None or choice.mode == "none":
        return None
    if choice.mode == "required":
        return ToolChoiceWire(any={})
    if choice.mode == "tool" and choice.name:
        return ToolChoiceWire(tool=NamedTool(name=choice.name))
    return ToolChoiceWire(auto={})
