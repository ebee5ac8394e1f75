"""The Anthropic surface: POST /v1/messages as a JSON message or the full SSE event sequence."""

from functools import cache

import msgspec

from tollway.fakellm.completion import Answer, ToolCall, plan_answer, tool_call
from tollway.fakellm.controls import Controls
from tollway.fakellm.exchange import Admitted, Incoming, admit
from tollway.fakellm.identifiers import new_id
from tollway.fakellm.responses import Send, send_json, send_stream
from tollway.fakellm.served_usage import SERVED, Tokens
from tollway.fakellm.sse import event_prefix, named_event
from tollway.fakellm.tokens import completion_text, text_chars, token_piece


class Message(msgspec.Struct):
    role: str = ""
    content: object = None


class Tool(msgspec.Struct):
    name: str = ""
    input_schema: object = None


class MessagesRequest(msgspec.Struct):
    model: str
    messages: list[Message]
    max_tokens: int  # required by the real API too
    system: object = None
    stream: bool | None = None
    tools: list[Tool] | None = None
    tool_choice: object = None


_DECODER = msgspec.json.Decoder(MessagesRequest)
_ENCODE = msgspec.json.encode
_DELTA_PREFIX = event_prefix("content_block_delta")
_PING = named_event("ping", b'{"type":"ping"}')
_BLOCK_STOP = named_event("content_block_stop", b'{"type":"content_block_stop","index":0}')
_MESSAGE_STOP = named_event("message_stop", b'{"type":"message_stop"}')


async def messages(incoming: Incoming, send: Send, defaults: Controls) -> None:
    admitted = await admit(incoming, send, "anthropic", _DECODER, defaults)
    if admitted is None:
        return
    request, context = admitted
    chars = text_chars(request.system) + sum(text_chars(message.content) for message in request.messages)
    answer = plan_answer(context.controls, chars, request.max_tokens, _requested_tool(request))
    controls = context.controls
    writes = controls.cache_write_tokens + controls.cache_write_1h_tokens
    SERVED.note(
        "anthropic",
        context.model,
        Tokens(answer.prompt_tokens, answer.output_tokens, controls.cache_read_tokens, writes),
    )
    if request.stream:
        await send_stream(send, incoming.receive, _events(answer, context), 3, context.controls)
    else:
        await send_json(send, 200, _ENCODE(_message(answer, context)))


def _requested_tool(request: MessagesRequest) -> ToolCall | None:
    """The tool to call: only when tools are offered and the last user turn is not a tool result."""
    if not request.tools or not request.messages or request.messages[-1].role != "user":
        return None
    if _has_tool_result(request.messages[-1].content) or not isinstance(request.tool_choice, dict | None):
        return None
    choice = request.tool_choice or {}
    if choice.get("type") == "none":
        return None
    wanted = choice.get("name") if choice.get("type") == "tool" else None
    for tool in request.tools:
        if wanted is None or tool.name == wanted:
            return tool_call(tool.name, tool.input_schema)
    return None


def _has_tool_result(content: object) -> bool:
    return isinstance(content, list) and any(
        isinstance(block, dict) and block.get("type") == "tool_result" for block in content
    )


def _stop_reason(answer: Answer) -> str:
    if answer.tool_call is not None:
        return "tool_use"
    return "max_tokens" if answer.truncated else "end_turn"


def _usage(answer: Answer, controls: Controls, output_tokens: int) -> dict[str, object]:
    # Anthropic reports cache reads and writes beside input_tokens, not inside it; writes split by TTL.
    usage: dict[str, object] = {
        "input_tokens": answer.prompt_tokens,
        "cache_creation_input_tokens": controls.cache_write_tokens + controls.cache_write_1h_tokens,
        "cache_read_input_tokens": controls.cache_read_tokens,
        "output_tokens": output_tokens,
    }
    if controls.cache_write_1h_tokens:
        usage["cache_creation"] = {
            "ephemeral_5m_input_tokens": controls.cache_write_tokens,
            "ephemeral_1h_input_tokens": controls.cache_write_1h_tokens,
        }
    return usage


def _content(answer: Answer) -> list[dict[str, object]]:
    if answer.tool_call is None:
        return [{"type": "text", "text": completion_text(answer.text_tokens)}]
    call = answer.tool_call
    return [{"type": "tool_use", "id": new_id("toolu_"), "name": call.name, "input": call.arguments}]


def _message(answer: Answer, context: Admitted) -> dict[str, object]:
    return {
        "id": new_id("msg_"),
        "type": "message",
        "role": "assistant",
        "model": context.model,
        "content": _content(answer),
        "stop_reason": _stop_reason(answer),
        "stop_sequence": None,
        "usage": _usage(answer, context.controls, answer.output_tokens),
    }


@cache
def _text_delta(index: int) -> bytes:
    """Content event for token ``index``; identical across requests, so built once."""
    delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": token_piece(index)}}
    return _DELTA_PREFIX + _ENCODE(delta) + b"\n\n"


def _events(answer: Answer, context: Admitted) -> list[bytes]:
    """message_start, content_block_start, ping, deltas, content_block_stop, message_delta, message_stop."""
    events = [_message_start(answer, context)]
    events += _block_events(answer)
    final = {"stop_reason": _stop_reason(answer), "stop_sequence": None}
    message_delta = {"type": "message_delta", "delta": final, "usage": {"output_tokens": answer.output_tokens}}
    events += [named_event("message_delta", _ENCODE(message_delta)), _MESSAGE_STOP]
    return events


def _message_start(answer: Answer, context: Admitted) -> bytes:
    message: dict[str, object] = {
        "id": new_id("msg_"),
        "type": "message",
        "role": "assistant",
        "model": context.model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": _usage(answer, context.controls, 1),  # the real API reports 1 output token at the start
    }
    return named_event("message_start", _ENCODE({"type": "message_start", "message": message}))


def _block_events(answer: Answer) -> list[bytes]:
    call = answer.tool_call
    if call is None:
        block: dict[str, object] = {"type": "text", "text": ""}
        deltas = [_text_delta(index) for index in range(answer.text_tokens)]
    else:
        block = {"type": "tool_use", "id": new_id("toolu_"), "name": call.name, "input": {}}
        deltas = [_json_delta(piece) for piece in call.argument_pieces()]
    opening = {"type": "content_block_start", "index": 0, "content_block": block}
    return [named_event("content_block_start", _ENCODE(opening)), _PING, *deltas, _BLOCK_STOP]


def _json_delta(piece: str) -> bytes:
    delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": piece}}
    return _DELTA_PREFIX + _ENCODE(delta) + b"\n\n"
