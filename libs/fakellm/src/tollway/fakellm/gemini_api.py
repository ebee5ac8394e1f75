"""The Gemini surface: ``POST /v1beta/models/{model}:generateContent`` and ``:streamGenerateContent?alt=sse``.

Errors use Google's shape ``{"error": {"code", "message", "status"}}`` (google-genai raises ``ClientError`` /
``ServerError`` from it). Usage follows Gemini: ``promptTokenCount`` includes ``cachedContentTokenCount``, and
``candidatesTokenCount`` excludes ``thoughtsTokenCount`` (both are billed as output).
"""

import msgspec

from tollway.fakellm.completion import Answer, ToolCall, plan_answer, tool_call
from tollway.fakellm.controls import ControlError, Controls, header_directives, resolve, split_model
from tollway.fakellm.exchange import Incoming
from tollway.fakellm.identifiers import new_id
from tollway.fakellm.recording import RECORDER
from tollway.fakellm.responses import Send, send_json, send_stream, sleep_ms
from tollway.fakellm.tokens import completion_text, text_chars, token_piece

PATH_PREFIXES = ("/v1beta/models/", "/v1/models/")
_ENCODE = msgspec.json.encode
# HTTP status -> Google's canonical status name.
STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


class Content(msgspec.Struct):
    role: str = "user"
    parts: list[dict[str, object]] = []


class GenerationConfig(msgspec.Struct):
    maxOutputTokens: int | None = None  # noqa: N815 - Gemini's field names


class FunctionCallingConfig(msgspec.Struct):
    mode: str | None = None
    allowedFunctionNames: list[str] | None = None  # noqa: N815


class ToolConfig(msgspec.Struct):
    functionCallingConfig: FunctionCallingConfig | None = None  # noqa: N815


class GenerateRequest(msgspec.Struct):
    contents: list[Content]
    systemInstruction: Content | None = None  # noqa: N815
    generationConfig: GenerationConfig | None = None  # noqa: N815
    tools: list[dict[str, object]] | None = None
    toolConfig: ToolConfig | None = None  # noqa: N815


_DECODER = msgspec.json.Decoder(GenerateRequest)
_SCHEMA_KEYS = ("parametersJsonSchema", "parameters_json_schema", "parameters")


def route_for(path: str) -> tuple[str, bool] | None:
    """``(model, stream)`` for ``/v1beta/models/{model}:generateContent`` (or ``:streamGenerateContent``)."""
    prefix = next((p for p in PATH_PREFIXES if path.startswith(p)), None)
    if prefix is None:
        return None
    model, _, method = path[len(prefix) :].rpartition(":")
    if method not in {"generateContent", "streamGenerateContent"} or not model:
        return None
    return model, method == "streamGenerateContent"


def google_error(status: int, message: str) -> bytes:
    name = STATUS_NAMES.get(status, "INTERNAL" if status >= 500 else "INVALID_ARGUMENT")
    return _ENCODE({"error": {"code": status, "message": message, "status": name}})


async def send_google_error(send: Send, status: int, message: str, retry_after: str | None = None) -> None:
    extra = [(b"retry-after", retry_after.encode())] if retry_after is not None else None
    await send_json(send, status, google_error(status, message), extra)


async def generate(incoming: Incoming, send: Send, defaults: Controls) -> None:
    route = route_for(incoming.path)
    if route is None:
        await send_google_error(send, 404, f"fakellm: no route for {incoming.path}")
        return
    model_id, stream = route
    admitted = await _admit(incoming, send, model_id, defaults)
    if admitted is None:
        return
    request, controls, model = admitted
    max_tokens = request.generationConfig.maxOutputTokens if request.generationConfig else None
    answer = plan_answer(controls, _prompt_chars(request), max_tokens, _requested_tool(request))
    if stream:
        await send_stream(send, incoming.receive, _events(answer, controls, model), 0, controls)
    else:
        await send_json(send, 200, _ENCODE(_response(answer, controls, model, _text_parts(answer))))


async def _admit(
    incoming: Incoming, send: Send, model_id: str, defaults: Controls
) -> tuple[GenerateRequest, Controls, str] | None:
    RECORDER.record(incoming.path, model_id, incoming.headers, incoming.body)
    try:
        request = _DECODER.decode(incoming.body)
        base, directives = split_model(model_id)
        controls = resolve(defaults, directives, header_directives(incoming.headers))
    except (msgspec.DecodeError, ControlError) as error:
        await send_google_error(send, 400, f"fakellm: {error}")
        return None
    await sleep_ms(controls.latency_ms)
    if controls.status is not None:
        message = "Resource has been exhausted (e.g. check quota)." if controls.status == 429 else "fakellm: injected"
        await send_google_error(send, controls.status, f"{message} (status {controls.status})", controls.retry_after)
        return None
    return request, controls, base


def _part_chars(part: dict[str, object]) -> int:
    response = part.get("functionResponse")
    nested = response.get("response") if isinstance(response, dict) else None
    return text_chars(part.get("text")) + (len(_ENCODE(nested)) if nested is not None else 0)


def _prompt_chars(request: GenerateRequest) -> int:
    system = request.systemInstruction.parts if request.systemInstruction else []
    return sum(_part_chars(p) for p in system) + sum(_part_chars(p) for c in request.contents for p in c.parts)


def _requested_tool(request: GenerateRequest) -> ToolCall | None:
    """The function to call: when declarations are offered, calling is not ``NONE`` and no result came last."""
    if not request.tools or not request.contents or request.contents[-1].role != "user":
        return None
    if any("functionResponse" in part for part in request.contents[-1].parts):
        return None
    config = request.toolConfig.functionCallingConfig if request.toolConfig else None
    if config is not None and config.mode == "NONE":
        return None
    allowed = set(config.allowedFunctionNames or []) if config is not None else set()
    for tool in request.tools:
        for declaration in tool.get("functionDeclarations") or []:  # type: ignore[attr-defined]
            if not isinstance(declaration, dict) or (allowed and declaration.get("name") not in allowed):
                continue
            # The REST API spells it camelCase; google-genai sends ``parameters_json_schema`` (both are accepted).
            schema = next((declaration[k] for k in _SCHEMA_KEYS if declaration.get(k) is not None), None)
            return tool_call(str(declaration.get("name")), _lower_types(schema))
    return None


def _lower_types(schema: object) -> object:
    """Gemini's OpenAPI schemas spell types upper-case (``STRING``); placeholders want JSON Schema's names."""
    if isinstance(schema, dict):
        return {k: (v.lower() if k == "type" and isinstance(v, str) else _lower_types(v)) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_lower_types(item) for item in schema]
    return schema


def _finish_reason(answer: Answer) -> str:
    return "MAX_TOKENS" if answer.truncated else "STOP"


def _usage(answer: Answer, controls: Controls, candidates: int | None = None) -> dict[str, int]:
    """``candidates`` so far for a stream's earlier chunks (Gemini reports cumulative counts on each)."""
    prompt = answer.prompt_tokens + controls.cache_read_tokens
    if candidates is None:
        candidates = answer.output_tokens - controls.reasoning_tokens
    usage = {
        "promptTokenCount": prompt,
        "candidatesTokenCount": candidates,
        "totalTokenCount": prompt + answer.output_tokens,
    }
    if controls.cache_read_tokens:
        usage["cachedContentTokenCount"] = controls.cache_read_tokens
    if controls.reasoning_tokens:
        usage["thoughtsTokenCount"] = controls.reasoning_tokens
    return usage


def _text_parts(answer: Answer) -> list[dict[str, object]]:
    call = answer.tool_call
    if call is None:
        return [{"text": completion_text(answer.text_tokens)}]
    return [{"functionCall": {"id": new_id("call_"), "name": call.name, "args": call.arguments}}]


def _response(
    answer: Answer, controls: Controls, model: str, parts: list[dict[str, object]], *, so_far: int | None = None
) -> dict[str, object]:
    """A whole answer, or with ``so_far`` an earlier stream chunk (no finish reason, counts up to it)."""
    candidate: dict[str, object] = {"content": {"role": "model", "parts": parts}, "index": 0}
    if so_far is None:
        candidate["finishReason"] = _finish_reason(answer)
    return {
        "candidates": [candidate],
        "usageMetadata": _usage(answer, controls, so_far),
        "modelVersion": model,
        "responseId": new_id("resp_"),
    }


def _events(answer: Answer, controls: Controls, model: str) -> list[bytes]:
    """One ``GenerateContentResponse`` per token; the last carries ``finishReason`` (Gemini has no end marker)."""
    if answer.tool_call is not None or answer.text_tokens == 0:
        pieces = [_text_parts(answer)]
    else:
        pieces = [[{"text": token_piece(index)}] for index in range(answer.text_tokens)]
    last = len(pieces) - 1
    bodies = [
        _response(answer, controls, model, parts, so_far=None if i == last else i + 1) for i, parts in enumerate(pieces)
    ]
    return [b"data: " + _ENCODE(body) + b"\r\n\r\n" for body in bodies]
