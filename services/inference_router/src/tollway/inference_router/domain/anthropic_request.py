"""Anthropic ``/v1/messages`` request bodies → canonical requests (public decoding, with validation)."""

from __future__ import annotations

import msgspec

from tollway.inference_router.domain.anthropic_wire import (
    Base64Source,
    Block,
    ImageBlock,
    MessageIn,
    MessagesIn,
    RedactedThinkingBlock,
    TextBlock,
    ThinkingBlock,
    ToolChoiceIn,
    ToolDefinition,
    ToolResultBlock,
    ToolUseBlock,
)
from tollway.inference_router.domain.canonical import (
    ChatRequest,
    Content,
    ContentPart,
    ImagePart,
    Message,
    TextPart,
    Tool,
    ToolCall,
    ToolChoice,
)
from tollway.inference_router.domain.errors import UNDECODABLE, from_validation_error, invalid_field
from tollway.inference_router.domain.request_rules import check_image_url, check_request

_DECODER = msgspec.json.Decoder(MessagesIn)
_ENCODER = msgspec.json.Encoder()
ANTHROPIC_MAX_TEMPERATURE = 1.0
_USER_BLOCKS = (TextBlock, ImageBlock, ToolResultBlock)
_ASSISTANT_BLOCKS = (TextBlock, ToolUseBlock, ThinkingBlock, RedactedThinkingBlock)


def decode_anthropic_request(body: bytes) -> ChatRequest:
    """Decode and validate a public Anthropic body.

    Raises ``InvalidRequestError`` (400) for malformed JSON or wrong types and ``UnprocessableRequestError`` (422).
    """
    try:
        wire = _DECODER.decode(body)
    except UNDECODABLE as error:
        raise from_validation_error(error) from None
    request = _canonical(wire)
    check_request(request, max_temperature=ANTHROPIC_MAX_TEMPERATURE)
    return request


def _canonical(wire: MessagesIn) -> ChatRequest:
    messages = [message for i, turn in enumerate(wire.messages) for message in _turn(turn, f"messages[{i}]")]
    choice = wire.tool_choice
    parallel = (
        None if choice is None or choice.disable_parallel_tool_use is None else not choice.disable_parallel_tool_use
    )
    return ChatRequest(
        model=wire.model,
        messages=(*_system(wire.system), *messages),
        tools=tuple(_tool(tool) for tool in wire.tools or ()),
        tool_choice=_tool_choice(choice),
        parallel_tool_calls=parallel,
        max_tokens=wire.max_tokens,
        temperature=wire.temperature,
        top_p=wire.top_p,
        top_k=wire.top_k,
        stop=tuple(wire.stop_sequences or ()),
        stream=bool(wire.stream),
        user=wire.metadata.user_id if wire.metadata else None,
    )


def _system(system: str | list[TextBlock] | None) -> tuple[Message, ...]:
    if not system:
        return ()
    content = system if isinstance(system, str) else tuple(TextPart(block.text) for block in system)
    return (Message(role="system", content=content),)


def _turn(turn: MessageIn, path: str) -> list[Message]:
    if isinstance(turn.content, str):
        return [Message(role=turn.role, content=turn.content)]
    allowed = _USER_BLOCKS if turn.role == "user" else _ASSISTANT_BLOCKS
    for i, block in enumerate(turn.content):
        if not isinstance(block, allowed):
            raise invalid_field(
                f"{path}.content[{i}]", f"a {_block_type(block)} block is not allowed in a {turn.role} turn"
            )
    if turn.role == "assistant":
        return [_assistant_turn(turn.content)]
    return _user_turn(turn.content, path)


def _block_type(block: Block) -> str:
    return str(block.__struct_config__.tag)


def _assistant_turn(blocks: list[Block]) -> Message:
    texts = tuple(TextPart(block.text) for block in blocks if isinstance(block, TextBlock))
    calls = tuple(
        ToolCall(id=block.id, name=block.name, arguments=_ENCODER.encode(block.input).decode())
        for block in blocks
        if isinstance(block, ToolUseBlock)
    )
    return Message(role="assistant", content=texts or None, tool_calls=calls)


def _user_turn(blocks: list[Block], path: str) -> list[Message]:
    """Tool results become tool messages (first, as Anthropic requires); the rest stays one user message."""
    messages: list[Message] = []
    parts: list[ContentPart] = []
    for i, block in enumerate(blocks):
        if isinstance(block, ToolResultBlock):
            messages.append(_tool_result(block, f"{path}.content[{i}]"))
        elif isinstance(block, TextBlock | ImageBlock):
            parts.append(_part(block, f"{path}.content[{i}]"))
    if parts or not messages:
        messages.append(Message(role="user", content=tuple(parts)))
    return messages


def _tool_result(block: ToolResultBlock, path: str) -> Message:
    content: Content | None = block.content if not isinstance(block.content, list) else None
    if isinstance(block.content, list):
        content = tuple(_part(part, f"{path}.content[{i}]") for i, part in enumerate(block.content))
    return Message(role="tool", content=content, tool_call_id=block.tool_use_id, is_error=bool(block.is_error))


def _part(block: TextBlock | ImageBlock, path: str) -> ContentPart:
    if isinstance(block, TextBlock):
        return TextPart(block.text)
    source = block.source
    if isinstance(source, Base64Source):
        return ImagePart(url=f"data:{source.media_type};base64,{source.data}")
    check_image_url(source.url, f"{path}.source.url")
    return ImagePart(url=source.url)


def _tool(wire: ToolDefinition) -> Tool:
    return Tool(name=wire.name, description=wire.description, parameters=wire.input_schema)


def _tool_choice(wire: ToolChoiceIn | None) -> ToolChoice | None:
    if wire is None:
        return None
    if wire.type == "tool":
        if not wire.name:
            raise invalid_field("tool_choice.name", "is required when tool_choice.type is 'tool'")
        return ToolChoice(mode="tool", name=wire.name)
    return ToolChoice(mode="required" if wire.type == "any" else wire.type)
