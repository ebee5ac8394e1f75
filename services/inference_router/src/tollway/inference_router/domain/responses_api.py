"""OpenAI Responses API (``POST /v1/responses``) ⇄ canonical: request decoding, the response object and its stream.

Stateless: ``previous_response_id`` and stored conversations are refused (422); the client sends the whole input.
"""

from __future__ import annotations

from typing import Any

import msgspec

from tollway.inference_router.domain.canonical import (
    ChatRequest,
    ChatResponse,
    Content,
    ContentPart,
    FinishReason,
    ImagePart,
    Message,
    Role,
    TextPart,
    Tool,
    ToolCall,
    ToolChoice,
    Usage,
)
from tollway.inference_router.domain.deltas import Finish, StreamDelta, TextDelta, ToolCallArguments, ToolCallStart
from tollway.inference_router.domain.error_bodies import openai_error_type
from tollway.inference_router.domain.errors import UNDECODABLE, from_validation_error, invalid_field
from tollway.inference_router.domain.openai_request import OPENAI_MAX_TEMPERATURE
from tollway.inference_router.domain.request_rules import check_arguments, check_image_url, check_request
from tollway.inference_router.domain.sse import named_frame

_ENCODER = msgspec.json.Encoder()
_ROLES: frozenset[Role] = frozenset({"system", "developer", "user", "assistant"})


class TextFormat(msgspec.Struct, frozen=True, kw_only=True):
    type: str = "text"
    name: str | None = None
    schema: dict[str, Any] | None = None
    strict: bool | None = None


class TextOptions(msgspec.Struct, frozen=True, kw_only=True):
    format: TextFormat | None = None


class ResponsesIn(msgspec.Struct, frozen=True, kw_only=True):
    model: str
    input: str | list[dict[str, Any]]
    instructions: str | None = None
    max_output_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    tools: list[dict[str, Any]] = []
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    stream: bool = False
    user: str | None = None
    metadata: dict[str, str] | None = None
    text: TextOptions | None = None
    previous_response_id: str | None = None
    store: bool | None = None


_DECODER = msgspec.json.Decoder(ResponsesIn)


def decode_responses_request(body: bytes) -> ChatRequest:
    try:
        wire = _DECODER.decode(body)
    except UNDECODABLE as error:
        raise from_validation_error(error) from None
    if wire.previous_response_id is not None:
        raise invalid_field("previous_response_id", "responses are not stored here; send the whole input instead")
    messages = [Message(role="developer", content=wire.instructions)] if wire.instructions else []
    if isinstance(wire.input, str):
        messages.append(Message(role="user", content=wire.input))
    else:
        messages += _items(wire.input)
    request = ChatRequest(
        model=wire.model,
        messages=tuple(_merge_calls(messages)),
        tools=tuple(_tool(tool, f"tools[{i}]") for i, tool in enumerate(wire.tools)),
        tool_choice=_tool_choice(wire.tool_choice),
        parallel_tool_calls=wire.parallel_tool_calls,
        max_tokens=wire.max_output_tokens,
        temperature=wire.temperature,
        top_p=wire.top_p,
        stream=wire.stream,
        user=wire.user,
        metadata=wire.metadata,
        response_format=_response_format(wire.text),
    )
    check_request(request, max_temperature=OPENAI_MAX_TEMPERATURE)
    return request


def _items(items: list[dict[str, Any]]) -> list[Message]:
    return [_item(item, f"input[{i}]") for i, item in enumerate(items)]


def _item(item: dict[str, Any], path: str) -> Message:
    kind = item.get("type", "message")
    if kind == "function_call":
        arguments = _text(item, "arguments", path)
        check_arguments(arguments, f"{path}.arguments")
        call = ToolCall(id=_text(item, "call_id", path), name=_text(item, "name", path), arguments=arguments)
        return Message(role="assistant", tool_calls=(call,))
    if kind == "function_call_output":
        output = item.get("output")
        content = output if isinstance(output, str) else _ENCODER.encode(output).decode()
        return Message(role="tool", tool_call_id=_text(item, "call_id", path), content=content)
    if kind != "message":
        raise invalid_field(f"{path}.type", f"input items of type '{kind}' are not supported")
    role = item.get("role")
    if role not in _ROLES:
        raise invalid_field(f"{path}.role", f"must be one of {sorted(_ROLES)}")
    return Message(role=role, content=_content(item.get("content"), f"{path}.content"))


def _text(item: dict[str, Any], field: str, path: str) -> str:
    value = item.get(field)
    if not isinstance(value, str):
        raise invalid_field(f"{path}.{field}", "must be a string")
    return value


def _content(content: object, path: str) -> Content:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise invalid_field(path, "must be a string or a list of content parts")
    parts: list[ContentPart] = []
    for i, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in {"input_text", "output_text", "text"} and isinstance(part.get("text"), str):
            parts.append(TextPart(part["text"]))
        elif kind == "input_image" and isinstance(part.get("image_url"), str):
            url: str = part["image_url"]
            check_image_url(url, f"{path}[{i}].image_url")
            parts.append(ImagePart(url=url, detail=part.get("detail")))
        else:
            raise invalid_field(f"{path}[{i}]", "must be an input_text, output_text or input_image part")
    return tuple(parts)


def _merge_calls(messages: list[Message]) -> list[Message]:
    """Consecutive ``function_call`` items are one assistant turn with several calls, as chat APIs expect."""
    merged: list[Message] = []
    for message in messages:
        previous = merged[-1] if merged else None
        if previous is not None and message.tool_calls and previous.role == "assistant" and previous.tool_calls:
            merged[-1] = msgspec.structs.replace(previous, tool_calls=previous.tool_calls + message.tool_calls)
        else:
            merged.append(message)
    return merged


def _tool(tool: dict[str, Any], path: str) -> Tool:
    if tool.get("type") != "function" or not isinstance(tool.get("name"), str):
        raise invalid_field(path, "only function tools (type 'function' with a name) are supported")
    parameters = tool.get("parameters")
    return Tool(
        name=tool["name"],
        description=tool.get("description"),
        parameters=parameters if isinstance(parameters, dict) else None,
    )


def _tool_choice(choice: str | dict[str, Any] | None) -> ToolChoice | None:
    if choice is None:
        return None
    if isinstance(choice, dict):
        name = choice.get("name")
        if choice.get("type") != "function" or not isinstance(name, str):
            raise invalid_field("tool_choice", "must be auto, none, required or {type: function, name}")
        return ToolChoice(mode="tool", name=name)
    if choice not in {"auto", "none", "required"}:
        raise invalid_field("tool_choice", "must be auto, none, required or {type: function, name}")
    return ToolChoice(mode=choice)  # type: ignore[arg-type]


def _response_format(text: TextOptions | None) -> dict[str, Any] | None:
    fmt = text.format if text else None
    if fmt is None or fmt.type == "text":
        return None
    if fmt.type == "json_object":
        return {"type": "json_object"}
    spec: dict[str, Any] = {"name": fmt.name or "response", "schema": fmt.schema or {}}
    if fmt.strict is not None:
        spec["strict"] = fmt.strict
    return {"type": "json_schema", "json_schema": spec}


def usage_to_responses(usage: Usage) -> dict[str, Any]:
    return {
        "input_tokens": usage.prompt_tokens,
        "input_tokens_details": {"cached_tokens": usage.cache_read_tokens},
        "output_tokens": usage.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.total_tokens,
    }


def _message_item(item_id: str, text: str, status: str = "completed") -> dict[str, Any]:
    content = [{"type": "output_text", "text": text, "annotations": []}]
    return {"type": "message", "id": item_id, "status": status, "role": "assistant", "content": content}


def _call_item(call: ToolCall, status: str = "completed") -> dict[str, Any]:
    return {
        "type": "function_call",
        "id": f"fc_{call.id}",
        "call_id": call.id,
        "name": call.name,
        "arguments": call.arguments,
        "status": status,
    }


def response_object(
    *,
    response_id: str,
    model: str,
    created: int,
    output: list[dict[str, Any]],
    finish: FinishReason | None,
    usage: Usage | None,
) -> dict[str, Any]:
    """The ``response`` object; ``finish`` ``None`` while it is still in progress."""
    status = (
        "in_progress" if finish is None else "incomplete" if finish in {"length", "content_filter"} else "completed"
    )
    incomplete = {"length": "max_output_tokens", "content_filter": "content_filter"}.get(finish or "")
    return {
        "id": response_id,
        "object": "response",
        "created_at": created,
        "status": status,
        "model": model,
        "output": output,
        "incomplete_details": {"reason": incomplete} if incomplete else None,
        "error": None,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": usage_to_responses(usage) if usage is not None else None,
    }


def encode_responses_response(response: ChatResponse, *, response_id: str, model: str, created: int) -> bytes:
    output = [_message_item(f"msg_{response_id}", response.content)] if response.content else []
    output += [_call_item(call) for call in response.tool_calls]
    body = response_object(
        response_id=response_id,
        model=model,
        created=created,
        output=output,
        finish=response.finish_reason,
        usage=response.usage or Usage(),
    )
    return _ENCODER.encode(body)


class ResponsesStreamEncoder:
    """Canonical deltas → Responses events: ``response.created``, ``…output_text.delta``…, ``response.completed``.

    Every event carries its ``type`` and a ``sequence_number``; the final ``response.completed`` holds the whole
    response with its usage.
    """

    def __init__(self, *, response_id: str, model: str, created: int) -> None:
        self._id, self._model, self._created = response_id, model, created
        self._sequence = 0
        self._started = False
        self._text: list[str] = []
        self._text_index: int | None = None  # output index of the message item once opened
        self._text_open = False
        self._calls: dict[int, tuple[int, ToolCall]] = {}  # tool index → (output index, call so far)
        self._outputs = 0
        self._finish: FinishReason | None = None

    def feed(self, delta: StreamDelta) -> bytes:
        out = b"" if self._started else self._opening()
        self._started = True
        match delta:
            case TextDelta() if delta.text:
                out += self._text_delta(delta.text)
            case ToolCallStart():
                out += self._close_text() + self._call_start(delta)
            case ToolCallArguments() if delta.index in self._calls:
                out += self._call_arguments(delta)
            case Finish():
                self._finish = delta.reason
        return out

    def close(self, usage: Usage | None = None) -> bytes:
        out = (b"" if self._started else self._opening()) + self._close_text()
        for index in sorted(self._calls):
            position, call = self._calls[index]
            done = {"output_index": position, "item_id": f"fc_{call.id}", "arguments": call.arguments}
            out += self._event("response.function_call_arguments.done", done)
            out += self._event("response.output_item.done", {"output_index": position, "item": _call_item(call)})
        finish = self._finish or "stop"
        final = self._response(finish, usage or Usage())
        kind = "response.completed" if final["status"] == "completed" else "response.incomplete"
        return out + self._event(kind, {"response": final})

    def error(self, status: int, message: str) -> bytes:
        return self._event("error", {"code": openai_error_type(status), "message": message, "param": None})

    def _opening(self) -> bytes:
        created = {"response": self._response(None, None)}
        return self._event("response.created", created) + self._event("response.in_progress", created)

    def _text_delta(self, text: str) -> bytes:
        out = b""
        if self._text_index is None:
            self._text_index, self._text_open = self._outputs, True
            self._outputs += 1
            item = _message_item(self._message_id, "", "in_progress") | {"content": []}
            out += self._event("response.output_item.added", {"output_index": self._text_index, "item": item})
            part = {"type": "output_text", "text": "", "annotations": []}
            out += self._event("response.content_part.added", self._where() | {"part": part})
        self._text.append(text)
        return out + self._event("response.output_text.delta", self._where() | {"delta": text})

    def _close_text(self) -> bytes:
        if not self._text_open:
            return b""
        self._text_open = False
        text = "".join(self._text)
        out = self._event("response.output_text.done", self._where() | {"text": text})
        part = {"type": "output_text", "text": text, "annotations": []}
        out += self._event("response.content_part.done", self._where() | {"part": part})
        done = {"output_index": self._text_index, "item": _message_item(self._message_id, text)}
        return out + self._event("response.output_item.done", done)

    def _call_start(self, delta: ToolCallStart) -> bytes:
        position = self._outputs
        self._outputs += 1
        call = ToolCall(id=delta.id, name=delta.name, arguments="")
        self._calls[delta.index] = (position, call)
        return self._event(
            "response.output_item.added", {"output_index": position, "item": _call_item(call, "in_progress")}
        )

    def _call_arguments(self, delta: ToolCallArguments) -> bytes:
        position, call = self._calls[delta.index]
        self._calls[delta.index] = (position, msgspec.structs.replace(call, arguments=call.arguments + delta.arguments))
        piece = {"output_index": position, "item_id": f"fc_{call.id}", "delta": delta.arguments}
        return self._event("response.function_call_arguments.delta", piece)

    @property
    def _message_id(self) -> str:
        return f"msg_{self._id}"

    def _where(self) -> dict[str, Any]:
        return {"item_id": self._message_id, "output_index": self._text_index, "content_index": 0}

    def _response(self, finish: FinishReason | None, usage: Usage | None) -> dict[str, Any]:
        items: list[tuple[int, dict[str, Any]]] = []
        if self._text_index is not None:
            items.append((self._text_index, _message_item(self._message_id, "".join(self._text))))
        items += [(position, _call_item(call)) for position, call in self._calls.values()]
        output = [item for _, item in sorted(items, key=lambda pair: pair[0])]
        return response_object(
            response_id=self._id, model=self._model, created=self._created, output=output, finish=finish, usage=usage
        )

    def _event(self, kind: str, fields: dict[str, Any]) -> bytes:
        # ``type`` last: the gateway's usage tap finds the terminal event's name (and usage) in the last bytes.
        payload = {"sequence_number": self._sequence, **fields, "type": kind}
        self._sequence += 1
        return named_frame(kind, _ENCODER.encode(payload))
