"""OpenAI chat completion bodies ⇄ canonical responses; OpenAI usage and finish-reason mapping."""

from __future__ import annotations

import msgspec

from tollway.inference_router.domain.canonical import ChatResponse, FinishReason, ToolCall, Usage
from tollway.inference_router.domain.errors import UpstreamProtocolError
from tollway.inference_router.domain.openai_wire import (
    ChatCompletionOut,
    CompletionDetails,
    FunctionCallIn,
    PromptDetails,
    ResponseChoice,
    ResponseMessage,
    ToolCallIn,
    UsageWire,
)

_DECODER = msgspec.json.Decoder(ChatCompletionOut)
_ENCODER = msgspec.json.Encoder()
_FINISH: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",  # the pre-tools name for the same thing
    "content_filter": "content_filter",
}


def finish_from_openai(reason: str | None) -> FinishReason:
    """Unknown or missing reasons count as a normal stop: the answer is complete as far as we can tell."""
    return _FINISH.get(reason or "", "stop")


def usage_from_openai(wire: UsageWire) -> Usage:
    """OpenAI already counts cached tokens inside ``prompt_tokens`` and reasoning inside ``completion_tokens``."""
    cached = (wire.prompt_tokens_details and wire.prompt_tokens_details.cached_tokens) or 0
    reasoning = (wire.completion_tokens_details and wire.completion_tokens_details.reasoning_tokens) or 0
    return Usage(
        prompt_tokens=wire.prompt_tokens,
        completion_tokens=wire.completion_tokens,
        cache_read_tokens=cached,
        reasoning_tokens=reasoning,
    )


def usage_to_openai(usage: Usage) -> UsageWire:
    """Cache writes have no OpenAI field; they stay counted inside ``prompt_tokens``."""
    return UsageWire(
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        total_tokens=usage.total_tokens,
        prompt_tokens_details=PromptDetails(cached_tokens=usage.cache_read_tokens),
        completion_tokens_details=CompletionDetails(reasoning_tokens=usage.reasoning_tokens),
    )


def parse_openai_response(body: bytes) -> ChatResponse:
    """An upstream's non-stream answer; raises ``UpstreamProtocolError`` when it is not a usable completion."""
    try:
        wire = _DECODER.decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError) as error:
        raise UpstreamProtocolError(f"upstream sent an invalid chat completion: {error}") from None
    if not wire.choices:
        raise UpstreamProtocolError("upstream sent a chat completion without choices")
    choice = wire.choices[0]
    message = choice.message
    calls = message.tool_calls if isinstance(message.tool_calls, list) else []
    content = message.content if message.content is not None else message.refusal
    return ChatResponse(
        id=wire.id,
        model=wire.model,
        content=content,
        tool_calls=tuple(ToolCall(id=c.id, name=c.function.name, arguments=c.function.arguments) for c in calls),
        finish_reason=finish_from_openai(choice.finish_reason),
        usage=usage_from_openai(wire.usage) if wire.usage is not None else None,
    )


def encode_openai_response(response: ChatResponse, *, model: str, created: int) -> bytes:
    """The public body for ``response``, naming ``model`` (the public model id the client asked for)."""
    return _ENCODER.encode(openai_response_wire(response, model=model, created=created))


def openai_response_wire(response: ChatResponse, *, model: str, created: int) -> ChatCompletionOut:
    calls = [
        ToolCallIn(id=call.id, function=FunctionCallIn(name=call.name, arguments=call.arguments))
        for call in response.tool_calls
    ]
    message = ResponseMessage(content=response.content, tool_calls=calls or msgspec.UNSET)
    return ChatCompletionOut(
        id=response.id,
        created=created,
        model=model,
        choices=[ResponseChoice(message=message, finish_reason=response.finish_reason)],
        usage=usage_to_openai(response.usage or Usage()),
    )
