"""OpenAI ``/v1/chat/completions`` request bodies ⇄ canonical requests (public decoding and upstream encoding)."""

from __future__ import annotations

import msgspec

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
from tollway.inference_router.domain.openai_wire import (
    AssistantMessageIn,
    ChatCompletionIn,
    DeveloperMessageIn,
    FunctionCallIn,
    FunctionDefinitionIn,
    ImagePartIn,
    ImageUrlIn,
    MessageIn,
    NamedFunctionIn,
    NamedToolChoiceIn,
    RefusalPartIn,
    StreamOptionsIn,
    SystemMessageIn,
    TextPartIn,
    ToolCallIn,
    ToolChoiceWire,
    ToolIn,
    ToolMessageIn,
    UserMessageIn,
)
from tollway.inference_router.domain.request_rules import check_arguments, check_image_url, check_request

_DECODER = msgspec.json.Decoder(ChatCompletionIn)
_ENCODER = msgspec.json.Encoder()
OPENAI_MAX_TEMPERATURE = 2.0


def decode_openai_request(body: bytes) -> ChatRequest:
    """Decode and validate a public OpenAI body.

    Raises ``InvalidRequestError`` (400) for malformed JSON or wrong types and ``UnprocessableRequestError`` (422).
    """
    try:
        wire = _DECODER.decode(body)
    except UNDECODABLE as error:
        raise from_validation_error(error) from None
    if wire.n is not None and wire.n != 1:
        raise invalid_field("n", f"only n=1 is supported, got {wire.n}")
    request = _canonical(wire)
    check_request(request, max_temperature=OPENAI_MAX_TEMPERATURE)
    return request


def _canonical(wire: ChatCompletionIn) -> ChatRequest:
    stop = (wire.stop,) if isinstance(wire.stop, str) else tuple(wire.stop or ())
    max_tokens = wire.max_completion_tokens if wire.max_completion_tokens is not None else wire.max_tokens
    return ChatRequest(
        model=wire.model,
        messages=tuple(_message(message, f"messages[{i}]") for i, message in enumerate(wire.messages)),
        tools=tuple(_tool(tool) for tool in wire.tools or ()),
        tool_choice=_tool_choice(wire.tool_choice),
        parallel_tool_calls=wire.parallel_tool_calls,
        max_tokens=max_tokens,
        temperature=wire.temperature,
        top_p=wire.top_p,
        stop=stop,
        stream=bool(wire.stream),
        include_usage=bool(wire.stream_options and wire.stream_options.include_usage),
        user=wire.user,
        metadata=wire.metadata,
        response_format=wire.response_format,
        seed=wire.seed,
        frequency_penalty=wire.frequency_penalty,
        presence_penalty=wire.presence_penalty,
    )


def _message(wire: MessageIn, path: str) -> Message:
    match wire:
        case SystemMessageIn():
            return Message(role="system", content=_text_content(wire.content), name=wire.name)
        case DeveloperMessageIn():
            return Message(role="developer", content=_text_content(wire.content), name=wire.name)
        case UserMessageIn():
            return Message(role="user", content=_user_content(wire.content, path), name=wire.name)
        case AssistantMessageIn():
            calls = tuple(_tool_call(call, f"{path}.tool_calls[{i}]") for i, call in enumerate(wire.tool_calls or ()))
            return Message(role="assistant", content=_assistant_content(wire.content), name=wire.name, tool_calls=calls)
        case ToolMessageIn():
            return Message(role="tool", content=_text_content(wire.content), tool_call_id=wire.tool_call_id)


def _text_content(content: str | list[TextPartIn]) -> Content:
    return content if isinstance(content, str) else tuple(TextPart(part.text) for part in content)


def _user_content(content: str | list[TextPartIn | ImagePartIn], path: str) -> Content:
    if isinstance(content, str):
        return content
    parts: list[ContentPart] = []
    for i, part in enumerate(content):
        if isinstance(part, TextPartIn):
            parts.append(TextPart(part.text))
        else:
            check_image_url(part.image_url.url, f"{path}.content[{i}].image_url.url")
            parts.append(ImagePart(url=part.image_url.url, detail=part.image_url.detail))
    return tuple(parts)


def _assistant_content(content: str | list[TextPartIn | RefusalPartIn] | None) -> Content | None:
    if content is None or isinstance(content, str):
        return content
    return tuple(TextPart(part.text if isinstance(part, TextPartIn) else part.refusal) for part in content)


def _tool_call(wire: ToolCallIn, path: str) -> ToolCall:
    check_arguments(wire.function.arguments, f"{path}.function.arguments")
    return ToolCall(id=wire.id, name=wire.function.name, arguments=wire.function.arguments)


def _tool(wire: ToolIn) -> Tool:
    function = wire.function
    return Tool(name=function.name, description=function.description, parameters=function.parameters)


def _tool_choice(wire: str | NamedToolChoiceIn | None) -> ToolChoice | None:
    if wire is None:
        return None
    if isinstance(wire, NamedToolChoiceIn):
        return ToolChoice(mode="tool", name=wire.function.name)
    return ToolChoice(mode="required" if wire == "required" else "none" if wire == "none" else "auto")


def encode_openai_request(request: ChatRequest, *, model: str | None = None) -> bytes:
    """The OpenAI body for ``request`` (``model`` overrides the model id, e.g. with an upstream's own id)."""
    return _ENCODER.encode(openai_request_wire(request, model=model))


def openai_request_wire(request: ChatRequest, *, model: str | None = None) -> ChatCompletionIn:
    return ChatCompletionIn(
        model=request.model if model is None else model,
        messages=[wire for message in request.messages for wire in _message_out(message)],
        tools=[_tool_out(tool) for tool in request.tools] or None,
        tool_choice=_tool_choice_out(request.tool_choice),
        parallel_tool_calls=request.parallel_tool_calls,
        max_tokens=request.max_tokens,
        temperature=request.temperature,
        top_p=request.top_p,
        stop=list(request.stop) or None,
        stream=request.stream or None,
        stream_options=StreamOptionsIn(include_usage=True) if request.include_usage else None,
        user=request.user,
        metadata=request.metadata,
        response_format=request.response_format,
        seed=request.seed,
        frequency_penalty=request.frequency_penalty,
        presence_penalty=request.presence_penalty,
    )


def _message_out(message: Message) -> list[MessageIn]:
    content = message.content
    match message.role:
        case "system":
            return [SystemMessageIn(content=_text_out(content), name=message.name)]
        case "developer":
            return [DeveloperMessageIn(content=_text_out(content), name=message.name)]
        case "user":
            return [UserMessageIn(content=_user_out(content), name=message.name)]
        case "assistant":
            calls = [_tool_call_out(call) for call in message.tool_calls] or None
            return [AssistantMessageIn(content=_assistant_out(content), name=message.name, tool_calls=calls)]
        case "tool":
            return _tool_result_out(message)


def _tool_result_out(message: Message) -> list[MessageIn]:
    """OpenAI tool messages carry text only, so images in a tool result follow in a user message."""
    result: list[MessageIn] = [
        ToolMessageIn(content=_text_out(message.content), tool_call_id=message.tool_call_id or "")
    ]
    if isinstance(message.content, tuple) and (images := [p for p in message.content if isinstance(p, ImagePart)]):
        result.append(UserMessageIn(content=_user_out(tuple(images))))
    return result


def _text_out(content: Content | None) -> str | list[TextPartIn]:
    if content is None or isinstance(content, str):
        return content or ""
    return [TextPartIn(text=part.text) for part in content if isinstance(part, TextPart)]


def _assistant_out(content: Content | None) -> str | list[TextPartIn | RefusalPartIn] | None:
    if content is None or isinstance(content, str):
        return content
    return [TextPartIn(text=part.text) for part in content if isinstance(part, TextPart)]


def _user_out(content: Content | None) -> str | list[TextPartIn | ImagePartIn]:
    if content is None or isinstance(content, str):
        return content or ""
    return [
        TextPartIn(text=part.text)
        if isinstance(part, TextPart)
        else ImagePartIn(image_url=ImageUrlIn(url=part.url, detail=part.detail))
        for part in content
    ]


def _tool_call_out(call: ToolCall) -> ToolCallIn:
    return ToolCallIn(id=call.id, function=FunctionCallIn(name=call.name, arguments=call.arguments))


def _tool_out(tool: Tool) -> ToolIn:
    definition = FunctionDefinitionIn(name=tool.name, description=tool.description, parameters=tool.parameters)
    return ToolIn(function=definition)


def _tool_choice_out(choice: ToolChoice | None) -> ToolChoiceWire | NamedToolChoiceIn | None:
    if choice is None:
        return None
    if choice.mode == "tool":
        return NamedToolChoiceIn(function=NamedFunctionIn(name=choice.name or ""))
    return choice.mode
