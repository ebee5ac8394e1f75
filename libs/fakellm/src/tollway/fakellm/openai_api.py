"""The OpenAI surface: POST /v1/chat/completions (JSON or SSE chunks) and GET /v1/models."""

import time
from functools import cache

import msgspec

from tollway.fakellm.completion import Answer, ToolCall, plan_answer, tool_call
from tollway.fakellm.controls import Controls
from tollway.fakellm.exchange import Admitted, Incoming, admit
from tollway.fakellm.identifiers import new_id
from tollway.fakellm.responses import Send, send_json, send_stream
from tollway.fakellm.served_usage import SERVED, Tokens
from tollway.fakellm.sse import DONE
from tollway.fakellm.tokens import completion_text, text_chars, token_piece

MODELS = ("fake-gpt", "fake-gpt-mini", "fake-claude", "fake-claude-haiku")
_MODEL_CREATED = 1_700_000_000


class ChatMessage(msgspec.Struct):
    role: str = ""
    content: object = None


class FunctionDefinition(msgspec.Struct):
    name: str = ""
    parameters: object = None


class ChatTool(msgspec.Struct):
    type: str = "function"
    function: FunctionDefinition | None = None


class StreamOptions(msgspec.Struct):
    include_usage: bool | None = None


class ChatRequest(msgspec.Struct):
    model: str
    messages: list[ChatMessage]
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    tools: list[ChatTool] | None = None
    tool_choice: object = None


_DECODER = msgspec.json.Decoder(ChatRequest)
_ENCODE = msgspec.json.encode
MODELS_BODY = _ENCODE(
    {
        "object": "list",
        "data": [{"id": m, "object": "model", "created": _MODEL_CREATED, "owned_by": "fakellm"} for m in MODELS],
    }
)


async def models(send: Send) -> None:
    await send_json(send, 200, MODELS_BODY)


async def chat_completions(incoming: Incoming, send: Send, defaults: Controls) -> None:
    admitted = await admit(incoming, send, "openai", _DECODER, defaults)
    if admitted is None:
        return
    request, context = admitted
    chars = sum(text_chars(message.content) for message in request.messages)
    max_tokens = request.max_completion_tokens if request.max_completion_tokens is not None else request.max_tokens
    answer = plan_answer(context.controls, chars, max_tokens, _requested_tool(request))
    SERVED.note(
        "openai", context.model, Tokens(answer.prompt_tokens, answer.output_tokens, context.controls.cache_read_tokens)
    )
    if request.stream:
        include_usage = bool(request.stream_options and request.stream_options.include_usage)
        events = _chunks(answer, context, include_usage)
        await send_stream(send, incoming.receive, events, 1, context.controls)
    else:
        await send_json(send, 200, _ENCODE(_completion(answer, context)))


def _requested_tool(request: ChatRequest) -> ToolCall | None:
    """The tool to call: only when tools are offered, the user spoke last and tool_choice allows it."""
    if not request.tools or not request.messages or request.messages[-1].role != "user":
        return None
    if request.tool_choice == "none":
        return None
    wanted = _named_choice(request.tool_choice)
    for tool in request.tools:
        if tool.function is not None and (wanted is None or tool.function.name == wanted):
            return tool_call(tool.function.name, tool.function.parameters)
    return None


def _named_choice(choice: object) -> str | None:
    if isinstance(choice, dict) and isinstance(function := choice.get("function"), dict):
        name = function.get("name")
        return name if isinstance(name, str) else None
    return None


def _finish_reason(answer: Answer) -> str:
    if answer.tool_call is not None:
        return "tool_calls"
    return "length" if answer.truncated else "stop"


def _usage(answer: Answer, controls: Controls) -> dict[str, object]:
    # OpenAI counts cached tokens inside prompt_tokens and reasoning tokens inside completion_tokens.
    prompt = answer.prompt_tokens + controls.cache_read_tokens
    return {
        "prompt_tokens": prompt,
        "completion_tokens": answer.output_tokens,
        "total_tokens": prompt + answer.output_tokens,
        "prompt_tokens_details": {"cached_tokens": controls.cache_read_tokens, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": controls.reasoning_tokens,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _tool_calls(call: ToolCall, call_id: str) -> list[dict[str, object]]:
    return [{"id": call_id, "type": "function", "function": {"name": call.name, "arguments": call.arguments_json}}]


def _completion(answer: Answer, context: Admitted) -> dict[str, object]:
    message: dict[str, object] = {"role": "assistant", "content": completion_text(answer.text_tokens), "refusal": None}
    if answer.tool_call is not None:
        message["content"] = None
        message["tool_calls"] = _tool_calls(answer.tool_call, new_id("call_"))
    choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": _finish_reason(answer)}
    return {
        "id": new_id("chatcmpl-"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": context.model,
        "choices": [choice],
        "usage": _usage(answer, context.controls),
        "system_fingerprint": "fp_fakellm",
    }


@cache
def _token_choice(index: int) -> bytes:
    """The choices part of content chunk ``index``; identical across requests, so built once."""
    return _ENCODE([{"index": 0, "delta": {"content": token_piece(index)}, "logprobs": None, "finish_reason": None}])


def _choice(delta: dict[str, object], finish_reason: str | None = None) -> bytes:
    return _ENCODE([{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}])


def _chunks(answer: Answer, context: Admitted, include_usage: bool) -> list[bytes]:
    """Every SSE event of the stream; event 0 carries the role, the token chunks start at event 1."""
    head = (
        b'data: {"id":'
        + _ENCODE(new_id("chatcmpl-"))
        + b',"object":"chat.completion.chunk","created":'
        + str(int(time.time())).encode()
        + b',"model":'
        + _ENCODE(context.model)
        + b',"system_fingerprint":"fp_fakellm","choices":'
    )
    end = b"}\n\n"
    if answer.tool_call is None:
        bodies = [_choice({"role": "assistant", "content": "", "refusal": None})]
        bodies += [_token_choice(index) for index in range(answer.text_tokens)]
    else:
        bodies = _tool_call_choices(answer.tool_call)
    bodies.append(_choice({}, _finish_reason(answer)))
    events = [head + body + end for body in bodies]
    if include_usage:
        events.append(head + b'[],"usage":' + _ENCODE(_usage(answer, context.controls)) + end)
    events.append(DONE)
    return events


def _tool_call_choices(call: ToolCall) -> list[bytes]:
    opening = {"index": 0, "id": new_id("call_"), "type": "function", "function": {"name": call.name, "arguments": ""}}
    first = _choice({"role": "assistant", "content": None, "refusal": None, "tool_calls": [opening]})
    pieces = [
        _choice({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}) for piece in call.argument_pieces()
    ]
    return [first, *pieces]
