"""Canonical requests → Anthropic ``/v1/messages`` bodies (for Anthropic upstreams, whatever format the client used)."""

from __future__ import annotations

import re

import msgspec

from tollway.inference_router.domain.anthropic_wire import (
    AnthropicChoice,
    Base64Source,
    Block,
    ImageBlock,
    MessageIn,
    MessagesIn,
    MetadataIn,
    TextBlock,
    ToolChoiceIn,
    ToolDefinition,
    ToolResultBlock,
    ToolUseBlock,
    UrlSource,
)
from tollway.inference_router.domain.canonical import (
    ChatRequest,
    Content,
    ContentPart,
    Message,
    TextPart,
    ToolChoice,
    ToolChoiceMode,
)
from tollway.inference_router.domain.request_rules import decode_arguments, split_data_url

_ENCODER = msgspec.json.Encoder()
_TOOL_ID_FORBIDDEN = re.compile(r"[^a-zA-Z0-9_-]")
_EMPTY_SCHEMA = {"type": "object", "properties": {}}
_CHOICE_TYPES: dict[ToolChoiceMode, AnthropicChoice] = {
    "auto": "auto",
    "none": "none",
    "required": "any",
    "tool": "tool",
}


def encode_anthropic_request(request: ChatRequest, *, model: str | None = None, default_max_tokens: int) -> bytes:
    """The Anthropic body for ``request``; ``default_max_tokens`` fills the field Anthropic requires."""
    return _ENCODER.encode(anthropic_request_wire(request, model=model, default_max_tokens=default_max_tokens))


def anthropic_request_wire(request: ChatRequest, *, model: str | None = None, default_max_tokens: int) -> MessagesIn:
    # Anthropic's range is 0..1 where OpenAI's is 0..2: clamp instead of letting a fallback fail on it.
    temperature = None if request.temperature is None else min(request.temperature, 1.0)
    return MessagesIn(
        model=request.model if model is None else model,
        messages=_turns(request.messages),
        max_tokens=request.max_tokens or default_max_tokens,
        system=_system(request.messages),
        metadata=MetadataIn(user_id=request.user) if request.user else None,
        stop_sequences=list(request.stop) or None,
        stream=request.stream or None,
        temperature=temperature,
        top_p=request.top_p,
        top_k=request.top_k,
        tools=[
            ToolDefinition(name=tool.name, description=tool.description, input_schema=tool.parameters or _EMPTY_SCHEMA)
            for tool in request.tools
        ]
        or None,
        tool_choice=_tool_choice(request.tool_choice, request.parallel_tool_calls),
    )


def anthropic_tool_id(call_id: str) -> str:
    """Anthropic accepts only ``[a-zA-Z0-9_-]`` in tool ids; other providers' ids may hold more."""
    return _TOOL_ID_FORBIDDEN.sub("_", call_id)


def _system(messages: tuple[Message, ...]) -> str | list[TextBlock] | None:
    """Anthropic has one top-level system prompt: every system and developer message is hoisted into it."""
    prompts = [message.content for message in messages if message.role in {"system", "developer"}]
    if not prompts:
        return None
    if len(prompts) == 1 and isinstance(prompts[0], str):
        return prompts[0]
    return [block for content in prompts for block in _blocks(content) if isinstance(block, TextBlock)]


def _turns(messages: tuple[Message, ...]) -> list[MessageIn]:
    """Tool results join one user turn, and a user message right after them joins it too, as Anthropic expects."""
    turns: list[MessageIn] = []
    in_tool_turn = False
    for message in messages:
        if message.role == "tool":
            block = _tool_result(message)
            if in_tool_turn:
                _extend(turns[-1], [block])
            else:
                turns.append(MessageIn(role="user", content=[block]))
            in_tool_turn = True
        elif message.role == "user" and in_tool_turn:
            _extend(turns[-1], _blocks(message.content))
            in_tool_turn = False
        elif message.role in {"user", "assistant"}:
            turns.append(_turn(message))
            in_tool_turn = False
    return turns


def _extend(turn: MessageIn, blocks: list[Block]) -> None:
    if isinstance(turn.content, list):
        turn.content.extend(blocks)


def _turn(message: Message) -> MessageIn:
    if message.role == "user":
        content = message.content if isinstance(message.content, str) else _blocks(message.content)
        return MessageIn(role="user", content=content)
    if isinstance(message.content, str) and not message.tool_calls:
        return MessageIn(role="assistant", content=message.content)
    blocks = [block for block in _blocks(message.content) if isinstance(block, TextBlock) and block.text]
    uses: list[Block] = [
        ToolUseBlock(id=anthropic_tool_id(call.id), name=call.name, input=decode_arguments(call.arguments))
        for call in message.tool_calls
    ]
    return MessageIn(role="assistant", content=[*blocks, *uses])


def _tool_result(message: Message) -> ToolResultBlock:
    content = message.content
    blocks = [] if content is None or isinstance(content, str) else _blocks(content)
    return ToolResultBlock(
        tool_use_id=anthropic_tool_id(message.tool_call_id or ""),
        content=content
        if content is None or isinstance(content, str)
        else [block for block in blocks if isinstance(block, TextBlock | ImageBlock)],
        is_error=True if message.is_error else None,
    )


def _blocks(content: Content | None) -> list[Block]:
    if content is None:
        return []
    if isinstance(content, str):
        return [TextBlock(text=content)]
    return [_block(part) for part in content]


def _block(part: ContentPart) -> Block:
    if isinstance(part, TextPart):
        return TextBlock(text=part.text)
    inline = split_data_url(part.url)
    if inline is None:
        return ImageBlock(source=UrlSource(url=part.url))
    return ImageBlock(source=Base64Source(media_type=inline[0], data=inline[1]))


def _tool_choice(choice: ToolChoice | None, parallel: bool | None) -> ToolChoiceIn | None:
    if choice is None and parallel is None:
        return None
    kind = _CHOICE_TYPES[choice.mode] if choice else "auto"
    disable = None if parallel is None else not parallel
    return ToolChoiceIn(type=kind, name=choice.name if choice else None, disable_parallel_tool_use=disable)
