"""OpenAI's legacy ``POST /v1/completions`` ⇄ canonical: one prompt in, ``text_completion`` objects and chunks out.

The prompt becomes one user turn of a chat request; ``echo``, ``suffix``, ``logprobs``, ``best_of`` and ``n`` > 1
have no chat equivalent and are refused (422) rather than silently ignored.
"""

from __future__ import annotations

from typing import Any

import msgspec

from tollway.inference_router.domain.canonical import ChatRequest, ChatResponse, Message, Usage
from tollway.inference_router.domain.deltas import Finish, StreamDelta, TextDelta, UsageReport
from tollway.inference_router.domain.error_bodies import openai_error_body
from tollway.inference_router.domain.errors import UNDECODABLE, from_validation_error, invalid_field
from tollway.inference_router.domain.openai_request import OPENAI_MAX_TEMPERATURE
from tollway.inference_router.domain.openai_response import usage_to_openai
from tollway.inference_router.domain.request_rules import check_request
from tollway.inference_router.domain.sse import DONE_FRAME, data_frame

DEFAULT_MAX_TOKENS = 16  # the legacy API's own default
_ENCODER = msgspec.json.Encoder()


class StreamOptions(msgspec.Struct, frozen=True):
    include_usage: bool = False


class CompletionsIn(msgspec.Struct, frozen=True, kw_only=True):
    model: str
    prompt: str | list[str]
    max_tokens: int | None = DEFAULT_MAX_TOKENS
    temperature: float | None = None
    top_p: float | None = None
    stop: str | list[str] | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    user: str | None = None
    seed: int | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    n: int = 1
    best_of: int | None = None
    echo: bool = False
    suffix: str | None = None
    logprobs: int | None = None


_DECODER = msgspec.json.Decoder(CompletionsIn)


def decode_completions_request(body: bytes) -> ChatRequest:
    try:
        wire = _DECODER.decode(body)
    except UNDECODABLE as error:
        raise from_validation_error(error) from None
    _refuse_unsupported(wire)
    prompt = wire.prompt if isinstance(wire.prompt, str) else wire.prompt[0]
    stop = (wire.stop,) if isinstance(wire.stop, str) else tuple(wire.stop or ())
    request = ChatRequest(
        model=wire.model,
        messages=(Message(role="user", content=prompt),),
        max_tokens=wire.max_tokens,
        temperature=wire.temperature,
        top_p=wire.top_p,
        stop=stop,
        stream=wire.stream,
        include_usage=bool(wire.stream_options and wire.stream_options.include_usage),
        user=wire.user,
        seed=wire.seed,
        frequency_penalty=wire.frequency_penalty,
        presence_penalty=wire.presence_penalty,
    )
    check_request(request, max_temperature=OPENAI_MAX_TEMPERATURE)
    return request


def _refuse_unsupported(wire: CompletionsIn) -> None:
    if isinstance(wire.prompt, list) and len(wire.prompt) != 1:
        raise invalid_field("prompt", "send one prompt per request (a string, or a list of exactly one)")
    for field, used in (
        ("n", wire.n != 1),
        ("best_of", wire.best_of not in (None, 1)),
        ("echo", wire.echo),
        ("suffix", wire.suffix is not None),
        ("logprobs", wire.logprobs is not None),
    ):
        if used:
            raise invalid_field(field, "is not supported by this gateway")


def _choice(text: str, finish: str | None) -> dict[str, Any]:
    return {"text": text, "index": 0, "logprobs": None, "finish_reason": finish}


def _usage(usage: Usage) -> dict[str, Any]:
    return msgspec.to_builtins(usage_to_openai(usage))  # type: ignore[no-any-return]


def encode_completions_response(response: ChatResponse, *, response_id: str, model: str, created: int) -> bytes:
    body = {
        "id": response_id,
        "object": "text_completion",
        "created": created,
        "model": model,
        "choices": [_choice(response.content or "", response.finish_reason)],
        "usage": _usage(response.usage or Usage()),
    }
    return _ENCODER.encode(body)


class CompletionsChunkEncoder:
    """Deltas → ``text_completion`` chunks; ``include_usage`` adds the usage chunk before ``data: [DONE]``."""

    def __init__(self, *, response_id: str, model: str, created: int, include_usage: bool) -> None:
        self._head = {"id": response_id, "object": "text_completion", "created": created, "model": model}
        self._include_usage = include_usage

    def feed(self, delta: StreamDelta) -> bytes:
        match delta:
            case TextDelta() if delta.text:
                return self._frame([_choice(delta.text, None)])
            case Finish():
                return self._frame([_choice("", delta.reason)])
            case UsageReport():
                return b""
        return b""

    def close(self, usage: Usage | None = None) -> bytes:
        tail = self._frame([], usage=usage or Usage()) if self._include_usage else b""
        return tail + DONE_FRAME

    def error(self, status: int, message: str) -> bytes:
        return data_frame(openai_error_body(status, message))

    def _frame(self, choices: list[dict[str, Any]], usage: Usage | None = None) -> bytes:
        body: dict[str, Any] = {**self._head, "choices": choices}
        if usage is not None:
            body["usage"] = _usage(usage)
        return data_frame(_ENCODER.encode(body))
