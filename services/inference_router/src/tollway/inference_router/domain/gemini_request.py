"""Public Gemini ``generateContent`` bodies → canonical requests (what google-genai and Gemini's REST docs send).

Gemini's JSON accepts camelCase and the proto's snake_case names alike (the docs' curl examples use
``system_instruction``); keys are made camelCase before decoding, except inside values that are the caller's own
data (function arguments and results, schemas).
"""

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

GEMINI_MAX_TEMPERATURE = 2.0
_OPAQUE = frozenset({"args", "response", "parameters", "parametersJsonSchema", "responseSchema", "responseJsonSchema"})
_ENCODER = msgspec.json.Encoder()


class In(msgspec.Struct, kw_only=True, rename="camel"):
    """Unknown fields (safety settings, thinking config...) are ignored: they change nothing a gateway can honour."""


class BlobIn(In):
    mime_type: str
    data: str


class FileDataIn(In):
    file_uri: str
    mime_type: str | None = None


class FunctionCallIn(In):
    name: str
    args: dict[str, Any] = {}
    id: str | None = None


class FunctionResponseIn(In):
    name: str
    response: dict[str, Any] = {}
    id: str | None = None


class PartIn(In):
    text: str | None = None
    thought: bool | None = None
    inline_data: BlobIn | None = None
    file_data: FileDataIn | None = None
    function_call: FunctionCallIn | None = None
    function_response: FunctionResponseIn | None = None


class ContentIn(In):
    parts: list[PartIn] = []
    role: Literal["user", "model", "function"] = "user"


class FunctionDeclarationIn(In):
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None  # Gemini's OpenAPI subset (``"type": "STRING"``)
    parameters_json_schema: dict[str, Any] | None = None


class ToolIn(In, forbid_unknown_fields=True):
    """Only function declarations: Google's own tools (search, code execution) run inside Gemini, not here."""

    function_declarations: list[FunctionDeclarationIn] = []


class FunctionCallingConfigIn(In):
    mode: Literal["MODE_UNSPECIFIED", "AUTO", "ANY", "NONE", "VALIDATED"] = "AUTO"
    allowed_function_names: list[str] | None = None


class ToolConfigIn(In):
    function_calling_config: FunctionCallingConfigIn | None = None


class GenerationConfigIn(In):
    max_output_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    stop_sequences: list[str] | None = None
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    candidate_count: int | None = None
    response_mime_type: str | None = None
    response_schema: dict[str, Any] | None = None
    response_json_schema: dict[str, Any] | None = None


class GenerateContentRequestIn(In):
    contents: list[ContentIn]
    system_instruction: ContentIn | None = None
    tools: list[ToolIn] | None = None
    tool_config: ToolConfigIn | None = None
    generation_config: GenerationConfigIn | None = None
    cached_content: str | None = None


def decode_gemini_request(body: bytes) -> ChatRequest:
    """Decode and validate a forwarded Gemini body (400 malformed, 422 what no upstream could do)."""
    envelope, document = open_envelope(body)
    wire = convert(_camel(document), GenerateContentRequestIn)
    if wire.cached_content:
        raise invalid_field("cachedContent", "Gemini context caches are not available through this gateway")
    config = wire.generation_config or GenerationConfigIn()
    if config.candidate_count is not None and config.candidate_count != 1:
        raise invalid_field("generationConfig.candidateCount", "only one candidate is supported")
    tools = tuple(_tool(d) for tool in wire.tools or () for d in tool.function_declarations)
    request = ChatRequest(
        model=envelope.model,
        messages=(*_system(wire.system_instruction), *_conversation(wire.contents)),
        tools=tools,
        tool_choice=_tool_choice(wire.tool_config) if tools else None,
        max_tokens=config.max_output_tokens,
        temperature=config.temperature,
        top_p=config.top_p,
        top_k=config.top_k,
        stop=tuple(config.stop_sequences or ()),
        stream=envelope.stream,
        include_usage=True,
        response_format=_response_format(config),
        seed=config.seed,
        frequency_penalty=config.frequency_penalty,
        presence_penalty=config.presence_penalty,
    )
    check_request(request, max_temperature=GEMINI_MAX_TEMPERATURE)
    return request


def _camel(value: Any) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            name = _camel_name(key)
            out[name] = item if name in _OPAQUE else _camel(item)
        return out
    if isinstance(value, list):
        return [_camel(item) for item in value]
    return value


def _camel_name(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


def _system(instruction: ContentIn | None) -> tuple[Message, ...]:
    if instruction is None:
        return ()
    text = "".join(part.text or "" for part in instruction.parts if not part.thought)
    return (Message(role="system", content=text),) if text else ()


def _conversation(contents: list[ContentIn]) -> list[Message]:
    """Model turns become assistant messages; a user turn's function responses become tool messages first.

    Gemini's calls and responses often carry no id: calls get ``call_<turn>_<n>`` and a response takes the id
    of the earliest unanswered call of the same function.
    """
    messages: list[Message] = []
    pending: list[ToolCall] = []
    for turn_index, turn in enumerate(contents):
        where = f"contents[{turn_index}]"
        if turn.role == "model":
            message, pending = _model_turn(turn, turn_index, where)
            messages.append(message)
            continue
        results = [part.function_response for part in turn.parts if part.function_response is not None]
        messages += [_tool_result(result, pending) for result in results]
        content = _user_content(turn.parts, where)
        if content:
            messages.append(Message(role="user", content=content))
    return messages


def _model_turn(turn: ContentIn, turn_index: int, where: str) -> tuple[Message, list[ToolCall]]:
    text = "".join(part.text or "" for part in turn.parts if part.text and not part.thought)
    calls = [
        ToolCall(
            id=part.function_call.id or f"call_{turn_index}_{n}",
            name=part.function_call.name,
            arguments=_ENCODER.encode(part.function_call.args).decode(),
        )
        for n, part in enumerate(p for p in turn.parts if p.function_call is not None)
        if part.function_call is not None
    ]
    if any(part.inline_data or part.file_data for part in turn.parts):
        raise invalid_field(f"{where}.parts", "model turns may hold only text and function calls")
    return Message(role="assistant", content=text or None, tool_calls=tuple(calls)), list(calls)


def _tool_result(response: FunctionResponseIn, pending: list[ToolCall]) -> Message:
    call = next((c for c in pending if c.id == response.id), None) if response.id else None
    call = call or next((c for c in pending if c.name == response.name), None)
    if call is not None:
        pending.remove(call)
    call_id = call.id if call is not None else response.id or f"call_{response.name}"
    return Message(role="tool", tool_call_id=call_id, content=_ENCODER.encode(response.response).decode())


def _user_content(parts: list[PartIn], where: str) -> tuple[ContentPart, ...]:
    content: list[ContentPart] = []
    for index, part in enumerate(parts):
        if part.text is not None and not part.thought:
            content.append(TextPart(part.text))
        elif part.inline_data is not None:
            content.append(_inline_image(part.inline_data, f"{where}.parts[{index}].inlineData"))
        elif part.file_data is not None:
            content.append(_file_image(part.file_data, f"{where}.parts[{index}].fileData"))
    return tuple(content)


def _inline_image(blob: BlobIn, field: str) -> ImagePart:
    if not blob.mime_type.startswith("image/"):
        raise invalid_field(f"{field}.mimeType", f"only images can be sent inline here, not '{blob.mime_type}'")
    return ImagePart(url=f"data:{blob.mime_type};base64,{blob.data}")


def _file_image(file: FileDataIn, field: str) -> ImagePart:
    if not file.file_uri.startswith(("https://", "http://")):
        raise invalid_field(f"{field}.fileUri", "must be an http(s) URL (Gemini file uploads stay inside Gemini)")
    if file.mime_type is not None and not file.mime_type.startswith("image/"):
        raise invalid_field(f"{field}.mimeType", f"only image files are supported, not '{file.mime_type}'")
    return ImagePart(url=file.file_uri)


def _tool(declaration: FunctionDeclarationIn) -> Tool:
    schema = declaration.parameters_json_schema
    if schema is None and declaration.parameters is not None:
        schema = _json_schema(declaration.parameters)
    return Tool(name=declaration.name, description=declaration.description, parameters=schema)


def _json_schema(schema: Any) -> Any:
    """Gemini's OpenAPI subset spells types upper-case (``STRING``); JSON Schema spells them lower-case."""
    if isinstance(schema, dict):
        return {k: v.lower() if k == "type" and isinstance(v, str) else _json_schema(v) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_json_schema(item) for item in schema]
    return schema


def _tool_choice(config: ToolConfigIn | None) -> ToolChoice | None:
    """``ANY`` with exactly one allowed function forces that one; with several, any tool (a subset is not kept)."""
    calling = config.function_calling_config if config is not None else None
    if calling is None or calling.mode in {"AUTO", "MODE_UNSPECIFIED", "VALIDATED"}:
        return None
    if calling.mode == "NONE":
        return ToolChoice(mode="none")
    names = calling.allowed_function_names or []
    return ToolChoice(mode="tool", name=names[0]) if len(names) == 1 else ToolChoice(mode="required")


def _response_format(config: GenerationConfigIn) -> dict[str, Any] | None:
    if config.response_mime_type != "application/json":
        return None
    schema = config.response_json_schema
    if schema is None and config.response_schema is not None:
        schema = _json_schema(config.response_schema)
    if schema is None:
        return {"type": "json_object"}
    return {"type": "json_schema", "json_schema": {"name": "response", "schema": schema}}
