"""The public format a client speaks: how its requests decode and answers encode, chosen by ``x-tollway-api``.

``openai`` (chat completions) and ``anthropic`` (messages) plus the OpenAI Responses API, legacy completions, the
Vercel AI SDK data stream, and Gemini's and Bedrock Runtime's own shapes; embeddings have no chat body (handlers
serve them) and only share the error shape.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from tollway.contracts.inference_router import Endpoint, PublicApi
from tollway.contracts.internal_api import PublicApiName
from tollway.contracts.public_errors import (
    BEDROCK_ERROR_HEADER,
    bedrock_error_body,
    bedrock_error_type,
    gemini_error_body,
)
from tollway.inference_router.domain.ai_sdk import (
    DATA_STREAM_HEADER,
    AiSdkStreamEncoder,
    decode_ai_sdk_request,
    encode_ai_sdk_response,
)
from tollway.inference_router.domain.anthropic_request import decode_anthropic_request
from tollway.inference_router.domain.anthropic_response import encode_anthropic_response
from tollway.inference_router.domain.anthropic_stream import AnthropicStreamEncoder
from tollway.inference_router.domain.aws_event_stream import CONTENT_TYPE as EVENT_STREAM
from tollway.inference_router.domain.bedrock_answer import ConverseStreamEncoder, encode_converse_response
from tollway.inference_router.domain.bedrock_request import decode_bedrock_request
from tollway.inference_router.domain.canonical import ChatRequest, ChatResponse, Usage
from tollway.inference_router.domain.deltas import StreamDelta
from tollway.inference_router.domain.error_bodies import anthropic_error_body, openai_error_body
from tollway.inference_router.domain.errors import InvalidRequestError
from tollway.inference_router.domain.gemini_answer import GeminiStreamEncoder, encode_gemini_response
from tollway.inference_router.domain.gemini_request import decode_gemini_request
from tollway.inference_router.domain.legacy_completions import (
    CompletionsChunkEncoder,
    decode_completions_request,
    encode_completions_response,
)
from tollway.inference_router.domain.openai_request import decode_openai_request
from tollway.inference_router.domain.openai_response import encode_openai_response
from tollway.inference_router.domain.openai_stream import OpenAIChunkEncoder
from tollway.inference_router.domain.responses_api import (
    ResponsesStreamEncoder,
    decode_responses_request,
    encode_responses_response,
)
from tollway.inference_router.domain.usage import estimate_prompt_tokens

_ENDPOINTS: dict[PublicApiName, Endpoint] = {
    "openai": "chat",
    "anthropic": "chat",
    "openai_responses": "responses",
    "openai_completions": "completions",
    "openai_embeddings": "embeddings",
    "ai_sdk": "ai_sdk",
    "gemini": "gemini",
    "bedrock": "bedrock",
}


def api_family(api: PublicApiName) -> PublicApi:
    """What usage events call the format: Anthropic's, or OpenAI's (every other public route speaks its errors)."""
    return "anthropic" if api == "anthropic" else "openai"


def endpoint_of(api: PublicApiName) -> Endpoint:
    return _ENDPOINTS[api]


class StreamEncoder(Protocol):
    def feed(self, delta: StreamDelta) -> bytes: ...

    def close(self, usage: Usage | None = None) -> bytes: ...

    def error(self, status: int, message: str) -> bytes: ...


def _no_chat_body(body: bytes) -> ChatRequest:
    raise InvalidRequestError("this route has no chat body")


_DECODERS: dict[PublicApiName, Callable[[bytes], ChatRequest]] = {
    "openai": decode_openai_request,
    "anthropic": decode_anthropic_request,
    "openai_responses": decode_responses_request,
    "openai_completions": decode_completions_request,
    "ai_sdk": decode_ai_sdk_request,
    "openai_embeddings": _no_chat_body,
    "gemini": decode_gemini_request,
    "bedrock": decode_bedrock_request,
}


class PublicFormat:
    """Everything format-specific about one request's answers, chosen once from the ``x-tollway-api`` header."""

    def __init__(self, api: PublicApiName) -> None:
        self.api = api

    def decode(self, body: bytes) -> ChatRequest:
        """Validate and translate the client's body; raises a ``DomainError`` (400/422) naming the bad field."""
        return _DECODERS[self.api](body)

    def response(self, response: ChatResponse, *, model: str, created: int, request_id: str = "") -> bytes:
        match self.api:
            case "anthropic":
                return encode_anthropic_response(response, model=model)
            case "openai_responses":
                return encode_responses_response(
                    response, response_id=f"resp_{request_id}", model=model, created=created
                )
            case "openai_completions":
                return encode_completions_response(
                    response, response_id=f"cmpl-{request_id}", model=model, created=created
                )
            case "ai_sdk":
                return encode_ai_sdk_response(response, response_id=f"msg-{request_id}")
            case "gemini" | "bedrock":
                return _native_response(self.api, response, model=model, request_id=request_id)
        return encode_openai_response(response, model=model, created=created)

    def stream_encoder(self, request: ChatRequest, *, request_id: str, model: str, created: int) -> StreamEncoder:
        match self.api:
            case "anthropic":
                input_tokens = estimate_prompt_tokens(request)
                return AnthropicStreamEncoder(message_id=f"msg_{request_id}", model=model, input_tokens=input_tokens)
            case "openai_responses":
                return ResponsesStreamEncoder(response_id=f"resp_{request_id}", model=model, created=created)
            case "openai_completions":
                return CompletionsChunkEncoder(
                    response_id=f"cmpl-{request_id}", model=model, created=created, include_usage=request.include_usage
                )
            case "ai_sdk":
                return AiSdkStreamEncoder(message_id=f"msg-{request_id}")
            case "gemini" | "bedrock":
                return _native_stream_encoder(self.api, request_id=request_id, model=model)
        return OpenAIChunkEncoder(
            response_id=f"chatcmpl-{request_id}", model=model, created=created, include_usage=request.include_usage
        )

    @property
    def stream_content_type(self) -> str:
        """The AI SDK's data stream is plain text lines, Bedrock's the binary event stream; every other is SSE."""
        if self.api == "bedrock":
            return EVENT_STREAM
        return "text/plain; charset=utf-8" if self.api == "ai_sdk" else "text/event-stream"

    @property
    def stream_headers(self) -> tuple[tuple[str, str], ...]:
        return (DATA_STREAM_HEADER,) if self.api == "ai_sdk" else ()

    def error(self, status: int, message: str, *, param: str | None = None) -> bytes:
        match self.api:
            case "anthropic":
                return anthropic_error_body(status, message)
            case "gemini":
                return gemini_error_body(status, message)
            case "bedrock":
                return bedrock_error_body(message)
        return openai_error_body(status, message, param=param)

    def error_headers(self, status: int) -> tuple[tuple[str, str], ...]:
        """Bedrock names the error in a header (botocore raises the exception class of that name)."""
        return ((BEDROCK_ERROR_HEADER, bedrock_error_type(status)),) if self.api == "bedrock" else ()


def _native_response(api: PublicApiName, response: ChatResponse, *, model: str, request_id: str) -> bytes:
    if api == "gemini":
        return encode_gemini_response(response, model=model, response_id=request_id)
    return encode_converse_response(response)


def _native_stream_encoder(api: PublicApiName, *, request_id: str, model: str) -> StreamEncoder:
    if api == "gemini":
        return GeminiStreamEncoder(response_id=request_id, model=model)
    return ConverseStreamEncoder()
