"""The public format a client speaks (OpenAI or Anthropic): how its requests decode and answers encode."""

from __future__ import annotations

from typing import Protocol

from tollway.contracts.internal_api import PublicApiName
from tollway.inference_router.domain.anthropic_request import decode_anthropic_request
from tollway.inference_router.domain.anthropic_response import encode_anthropic_response
from tollway.inference_router.domain.anthropic_stream import AnthropicStreamEncoder
from tollway.inference_router.domain.canonical import ChatRequest, ChatResponse, Usage
from tollway.inference_router.domain.deltas import StreamDelta
from tollway.inference_router.domain.error_bodies import anthropic_error_body, openai_error_body
from tollway.inference_router.domain.openai_request import decode_openai_request
from tollway.inference_router.domain.openai_response import encode_openai_response
from tollway.inference_router.domain.openai_stream import OpenAIChunkEncoder
from tollway.inference_router.domain.usage import estimate_prompt_tokens


class StreamEncoder(Protocol):
    def feed(self, delta: StreamDelta) -> bytes: ...

    def close(self, usage: Usage | None = None) -> bytes: ...

    def error(self, status: int, message: str) -> bytes: ...


class PublicFormat:
    """Everything format-specific about one request's answers, chosen once from the ``x-tollway-api`` header."""

    def __init__(self, api: PublicApiName) -> None:
        self.api = api

    def decode(self, body: bytes) -> ChatRequest:
        """Validate and translate the client's body; raises a ``DomainError`` (400/422) naming the bad field."""
        return decode_anthropic_request(body) if self.api == "anthropic" else decode_openai_request(body)

    def response(self, response: ChatResponse, *, model: str, created: int) -> bytes:
        if self.api == "anthropic":
            return encode_anthropic_response(response, model=model)
        return encode_openai_response(response, model=model, created=created)

    def stream_encoder(self, request: ChatRequest, *, request_id: str, model: str, created: int) -> StreamEncoder:
        if self.api == "anthropic":
            input_tokens = estimate_prompt_tokens(request)
            return AnthropicStreamEncoder(message_id=f"msg_{request_id}", model=model, input_tokens=input_tokens)
        return OpenAIChunkEncoder(
            response_id=f"chatcmpl-{request_id}", model=model, created=created, include_usage=request.include_usage
        )

    def error(self, status: int, message: str, *, param: str | None = None) -> bytes:
        if self.api == "anthropic":
            return anthropic_error_body(status, message)
        return openai_error_body(status, message, param=param)
