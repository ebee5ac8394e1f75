"""The Bedrock Runtime surface: ``POST /model/{modelId}/converse`` and ``/converse-stream`` (binary event stream).

Every call must carry a valid SigV4 signature (``sigv4``); the model id (URL-encoded in the path) takes the
same ``+directives`` as the other fakes. Usage follows Bedrock: ``inputTokens`` excludes cache reads and
writes, which are reported beside it, and ``totalTokens`` adds all of them up.
"""

from datetime import UTC, datetime
from urllib.parse import unquote

import msgspec

from tollway.fakellm import eventstream
from tollway.fakellm.completion import Answer, ToolCall, plan_answer, tool_call
from tollway.fakellm.controls import ControlError, Controls, header_directives, resolve, split_model
from tollway.fakellm.exchange import Incoming
from tollway.fakellm.identifiers import new_id
from tollway.fakellm.recording import RECORDER
from tollway.fakellm.responses import Send, send_bedrock_error, send_json, send_stream, sleep_ms
from tollway.fakellm.sigv4 import SignatureRejectedError, SignedCall, key_pair, verify
from tollway.fakellm.tokens import completion_text, token_piece

PATH_PREFIX = "/model/"
EVENT_STREAM = b"application/vnd.amazon.eventstream"
_ENCODE = msgspec.json.encode
_KEYS = key_pair()

# HTTP status -> the AWS error name Bedrock answers it with (botocore raises the exception class of that name).
ERROR_TYPES = {
    400: "ValidationException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    408: "ModelTimeoutException",
    424: "ModelErrorException",
    429: "ThrottlingException",
    500: "InternalServerException",
    503: "ServiceUnavailableException",
}


class Message(msgspec.Struct):
    role: str = ""
    content: list[dict[str, object]] = []


class InferenceConfig(msgspec.Struct):
    maxTokens: int | None = None  # noqa: N815 - Bedrock's field names


class ToolConfig(msgspec.Struct):
    tools: list[dict[str, object]] = []
    toolChoice: dict[str, object] | None = None  # noqa: N815


class ConverseRequest(msgspec.Struct):
    messages: list[Message]
    system: list[dict[str, object]] | None = None
    inferenceConfig: InferenceConfig | None = None  # noqa: N815
    toolConfig: ToolConfig | None = None  # noqa: N815


_DECODER = msgspec.json.Decoder(ConverseRequest)


def route_for(raw_path: str) -> tuple[str, bool] | None:
    """``(model id, stream)`` for a Bedrock path as sent (still percent-encoded), ``None`` for any other path."""
    path = raw_path
    if not path.startswith(PATH_PREFIX):
        return None
    model, _, operation = path[len(PATH_PREFIX) :].rpartition("/")
    if operation not in {"converse", "converse-stream"} or not model:
        return None
    return unquote(model), operation == "converse-stream"


async def converse(incoming: Incoming, send: Send, raw_path: bytes, defaults: Controls) -> None:
    route = route_for(raw_path.decode("latin-1"))
    if route is None:
        await send_bedrock_error(send, 404, "UnknownOperationException", f"fakellm: no route for {incoming.path}")
        return
    model_id, stream = route
    admitted = await _admit(incoming, send, raw_path, model_id, defaults)
    if admitted is None:
        return
    request, controls = admitted
    max_tokens = request.inferenceConfig.maxTokens if request.inferenceConfig else None
    answer = plan_answer(controls, _prompt_chars(request), max_tokens, _requested_tool(request))
    if stream:
        await send_stream(send, incoming.receive, _events(answer, controls), 1, controls, content_type=EVENT_STREAM)
    else:
        await send_json(send, 200, _ENCODE(_response(answer, controls)))


async def _admit(
    incoming: Incoming, send: Send, raw_path: bytes, model_id: str, defaults: Controls
) -> tuple[ConverseRequest, Controls] | None:
    """Signature, body, controls and injected errors; ``None`` means an error answer was sent."""
    try:
        verify(SignedCall("POST", raw_path, incoming.headers, incoming.body), _KEYS, datetime.now(UTC))
    except SignatureRejectedError as error:
        RECORDER.record(incoming.path, model_id, incoming.headers, incoming.body)
        await send_bedrock_error(send, 403, error.error_type, str(error))
        return None
    RECORDER.record(incoming.path, model_id, incoming.headers, incoming.body)
    try:
        request = _DECODER.decode(incoming.body)
        controls = resolve(defaults, split_model(model_id)[1], header_directives(incoming.headers))
    except (msgspec.DecodeError, ControlError) as error:
        await send_bedrock_error(send, 400, "ValidationException", f"fakellm: {error}")
        return None
    await sleep_ms(controls.latency_ms)
    if controls.status is not None:
        kind = ERROR_TYPES.get(
            controls.status, "InternalServerException" if controls.status >= 500 else "ValidationException"
        )
        message = (
            "Too many requests, please wait before trying again." if controls.status == 429 else "fakellm: injected"
        )
        await send_bedrock_error(
            send, controls.status, kind, f"{message} (status {controls.status})", controls.retry_after
        )
        return None
    return request, controls


def _block_chars(block: dict[str, object]) -> int:
    text = block.get("text")
    if isinstance(text, str):
        return len(text)
    result = block.get("toolResult")
    if isinstance(result, dict) and isinstance(result.get("content"), list):
        return sum(_block_chars(part) for part in result["content"] if isinstance(part, dict))
    return 0


def _prompt_chars(request: ConverseRequest) -> int:
    system = sum(_block_chars(block) for block in request.system or [])
    return system + sum(_block_chars(block) for message in request.messages for block in message.content)


def _requested_tool(request: ConverseRequest) -> ToolCall | None:
    """The tool to call: only when tools are offered and the last user turn carries no tool result."""
    config = request.toolConfig
    if config is None or not config.tools or not request.messages or request.messages[-1].role != "user":
        return None
    if any("toolResult" in block for block in request.messages[-1].content):
        return None
    choice = config.toolChoice or {}
    named = choice.get("tool")
    wanted = named.get("name") if isinstance(named, dict) else None
    for tool in config.tools:
        spec = tool.get("toolSpec")
        if not isinstance(spec, dict) or (wanted is not None and spec.get("name") != wanted):
            continue
        schema = spec.get("inputSchema")
        return tool_call(str(spec.get("name")), schema.get("json") if isinstance(schema, dict) else None)
    return None


def _stop_reason(answer: Answer) -> str:
    if answer.tool_call is not None:
        return "tool_use"
    return "max_tokens" if answer.truncated else "end_turn"


def _usage(answer: Answer, controls: Controls) -> dict[str, int]:
    cached = controls.cache_read_tokens + controls.cache_write_tokens
    return {
        "inputTokens": answer.prompt_tokens,
        "outputTokens": answer.output_tokens,
        "totalTokens": answer.prompt_tokens + cached + answer.output_tokens,
        "cacheReadInputTokens": controls.cache_read_tokens,
        "cacheWriteInputTokens": controls.cache_write_tokens,
    }


def _response(answer: Answer, controls: Controls) -> dict[str, object]:
    if answer.tool_call is None:
        content: list[dict[str, object]] = [{"text": completion_text(answer.text_tokens)}]
    else:
        call = answer.tool_call
        content = [{"toolUse": {"toolUseId": new_id("tooluse_"), "name": call.name, "input": call.arguments}}]
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": _stop_reason(answer),
        "usage": _usage(answer, controls),
        "metrics": {"latencyMs": int(controls.latency_ms)},
    }


def _events(answer: Answer, controls: Controls) -> list[bytes]:
    """messageStart, [contentBlockStart], contentBlockDelta…, contentBlockStop, messageStop, metadata."""
    events = [eventstream.event("messageStart", b'{"role":"assistant"}')]
    call = answer.tool_call
    if call is None:
        deltas = [
            _ENCODE({"contentBlockIndex": 0, "delta": {"text": token_piece(i)}}) for i in range(answer.text_tokens)
        ]
    else:
        start = {"contentBlockIndex": 0, "start": {"toolUse": {"toolUseId": new_id("tooluse_"), "name": call.name}}}
        events.append(eventstream.event("contentBlockStart", _ENCODE(start)))
        deltas = [_ENCODE({"contentBlockIndex": 0, "delta": {"toolUse": {"input": p}}}) for p in call.argument_pieces()]
    events += [eventstream.event("contentBlockDelta", delta) for delta in deltas]
    events.append(eventstream.event("contentBlockStop", b'{"contentBlockIndex":0}'))
    events.append(eventstream.event("messageStop", _ENCODE({"stopReason": _stop_reason(answer)})))
    metadata = {"usage": _usage(answer, controls), "metrics": {"latencyMs": int(controls.latency_ms)}}
    events.append(eventstream.event("metadata", _ENCODE(metadata)))
    return events
