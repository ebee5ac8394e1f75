"""Canonical requests → Gemini ``generateContent`` bodies (for Gemini upstreams, whatever format the client used)."""

from __future__ import annotations

import mimetypes
from typing import Literal

import msgspec

from tollway.inference_router.domain.canonical import ChatRequest, Content, ContentPart, Message, TextPart, ToolChoice
from tollway.inference_router.domain.gemini_wire import (
    Blob,
    FileData,
    FunctionCall,
    FunctionCallingConfig,
    FunctionDeclaration,
    FunctionResponse,
    GenerateContentIn,
    GenerationConfig,
    Part,
    ToolConfigWire,
    ToolWire,
)
from tollway.inference_router.domain.gemini_wire import Content as Turn
from tollway.inference_router.domain.request_rules import decode_arguments, split_data_url

_ENCODER = msgspec.json.Encoder()
_OBJECT = msgspec.json.Decoder(dict[str, object])


def encode_gemini_request(request: ChatRequest, *, default_max_tokens: int) -> bytes:
    return _ENCODER.encode(gemini_request_wire(request, default_max_tokens=default_max_tokens))


def gemini_request_wire(request: ChatRequest, *, default_max_tokens: int) -> GenerateContentIn:
    system = [Part(text=b.text) for m in request.messages if m.role in {"system", "developer"} for b in _parts(m)]
    return GenerateContentIn(
        contents=_turns(request.messages),
        system_instruction=Turn(parts=system) if system else None,
        tools=_tools(request),
        tool_config=_tool_config(request.tool_choice) if request.tools else None,
        generation_config=_generation_config(request, default_max_tokens),
    )


def _generation_config(request: ChatRequest, default_max_tokens: int) -> GenerationConfig:
    mime, schema = _response_format(request.response_format)
    return GenerationConfig(
        max_output_tokens=request.max_tokens or default_max_tokens,
        temperature=request.temperature,
        top_p=request.top_p,
        top_k=request.top_k,
        stop_sequences=list(request.stop) or None,
        seed=request.seed,
        presence_penalty=request.presence_penalty,
        frequency_penalty=request.frequency_penalty,
        response_mime_type=mime,
        response_json_schema=schema,
    )


def _response_format(fmt: dict[str, object] | None) -> tuple[str | None, dict[str, object] | None]:
    """OpenAI's ``json_object`` / ``json_schema`` → Gemini's JSON mime type (and its schema)."""
    if not fmt or fmt.get("type") not in {"json_object", "json_schema"}:
        return None, None
    spec = fmt.get("json_schema")
    schema = spec.get("schema") if isinstance(spec, dict) else None
    return "application/json", schema if isinstance(schema, dict) else None


def _turns(messages: tuple[Message, ...]) -> list[Turn]:
    """``user``/``model`` turns; tool results are user turns naming the function their call used (Gemini needs it)."""
    names = {call.id: call.name for m in messages for call in m.tool_calls}
    turns: list[Turn] = []
    for message in messages:
        if message.role in {"system", "developer"}:
            continue
        role: Literal["user", "model"] = "model" if message.role == "assistant" else "user"
        parts = _message_parts(message, names)
        if not parts:
            continue
        if turns and turns[-1].role == role:
            turns[-1].parts.extend(parts)
        else:
            turns.append(Turn(role=role, parts=parts))
    return turns


def _message_parts(message: Message, names: dict[str, str]) -> list[Part]:
    if message.role == "tool":
        call_id = message.tool_call_id or ""
        response = FunctionResponse(name=names.get(call_id, call_id), response=_result(message), id=call_id or None)
        return [Part(function_response=response)]
    parts = [part for part in _parts(message) if part.text != ""]
    calls = [
        Part(function_call=FunctionCall(name=c.name, args=decode_arguments(c.arguments), id=c.id or None))
        for c in message.tool_calls
    ]
    return [*parts, *calls]


def _result(message: Message) -> dict[str, object]:
    """A JSON object result is passed as it is; any other text under ``result`` (``error`` for a failed call)."""
    text = "".join(part.text or "" for part in _parts(message))
    try:
        decoded = _OBJECT.decode(text)
    except msgspec.DecodeError:
        decoded = None
    if decoded is not None and not message.is_error:
        return decoded
    return {"error" if message.is_error else "result": text}


def _parts(message: Message) -> list[Part]:
    return _content_parts(message.content)


def _content_parts(content: Content | None) -> list[Part]:
    if content is None:
        return []
    if isinstance(content, str):
        return [Part(text=content)]
    return [_part(part) for part in content]


def _part(part: ContentPart) -> Part:
    if isinstance(part, TextPart):
        return Part(text=part.text)
    inline = split_data_url(part.url)
    if inline is not None:
        return Part(inline_data=Blob(mime_type=inline[0], data=inline[1]))
    return Part(file_data=FileData(file_uri=part.url, mime_type=mimetypes.guess_type(part.url)[0] or "image/jpeg"))


def _tools(request: ChatRequest) -> list[ToolWire] | None:
    if not request.tools:
        return None
    declarations = [
        FunctionDeclaration(name=t.name, description=t.description, parameters_json_schema=t.parameters)
        for t in request.tools
    ]
    return [ToolWire(function_declarations=declarations)]


def _tool_config(choice: ToolChoice | None) -> ToolConfigWire | None:
    if choice is None or choice.mode == "auto":
        return None
    if choice.mode == "none":
        return ToolConfigWire(function_calling_config=FunctionCallingConfig(mode="NONE"))
    names = [choice.name] if choice.mode == "tool" and choice.name else None
    return ToolConfigWire(function_calling_config=FunctionCallingConfig(mode="ANY", allowed_function_names=names))
