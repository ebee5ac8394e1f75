"""Upstream calls as data: the HTTP request to send, and the pure OpenAI/Anthropic provider adapters that build it."""

from __future__ import annotations

import msgspec

from tollway.inference_router.domain.anthropic_body import encode_anthropic_request
from tollway.inference_router.domain.anthropic_response import parse_anthropic_response
from tollway.inference_router.domain.anthropic_stream import AnthropicEventDecoder
from tollway.inference_router.domain.canonical import ChatRequest, ChatResponse
from tollway.inference_router.domain.catalog import Provider
from tollway.inference_router.domain.error_bodies import upstream_error_message
from tollway.inference_router.domain.openai_request import encode_openai_request
from tollway.inference_router.domain.openai_response import parse_openai_response
from tollway.inference_router.domain.openai_stream import OpenAIChunkDecoder

ANTHROPIC_VERSION = "2023-06-01"


class UpstreamRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Everything a transport needs to send one upstream call; ``stream`` says how to read the answer."""

    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    stream: bool
    method: str = "POST"


def _headers(base: dict[str, str], provider: Provider) -> tuple[tuple[str, str], ...]:
    """Provider headers from the catalogue win over the defaults (e.g. a newer ``anthropic-version``)."""
    merged = {**base, **{name.lower(): value for name, value in provider.headers.items()}}
    return tuple(merged.items())


class OpenAICompatibleUpstream:
    """Adapter for ``openai_compatible`` providers (``POST {base_url}/chat/completions``, Bearer key)."""

    def __init__(self, provider: Provider, api_key: str | None) -> None:
        self.provider = provider
        self._api_key = api_key

    def build_request(self, request: ChatRequest, *, upstream_model: str, default_max_tokens: int) -> UpstreamRequest:
        # A stream must report usage, whatever the client asked: it is what the request is billed on.
        # ``metadata`` is the caller's bookkeeping with Tollway (OpenAI only accepts it with ``store``).
        sent = msgspec.structs.replace(request, include_usage=request.stream, metadata=None)
        base = {
            "content-type": "application/json",
            "accept": "text/event-stream" if request.stream else "application/json",
        }
        if self._api_key:
            base["authorization"] = f"Bearer {self._api_key}"
        return UpstreamRequest(
            url=self.provider.base_url.rstrip("/") + "/chat/completions",
            headers=_headers(base, self.provider),
            body=encode_openai_request(sent, model=upstream_model),
            stream=request.stream,
        )

    def parse_response(self, body: bytes) -> ChatResponse:
        return parse_openai_response(body)

    def stream_decoder(self) -> OpenAIChunkDecoder:
        return OpenAIChunkDecoder()

    def error_message(self, body: bytes) -> str:
        return upstream_error_message(body)


class AnthropicUpstream:
    """Adapter for ``anthropic`` providers (``POST {base_url}/v1/messages``, ``x-api-key``)."""

    def __init__(self, provider: Provider, api_key: str | None) -> None:
        self.provider = provider
        self._api_key = api_key

    def build_request(self, request: ChatRequest, *, upstream_model: str, default_max_tokens: int) -> UpstreamRequest:
        base = {
            "content-type": "application/json",
            "accept": "text/event-stream" if request.stream else "application/json",
            "anthropic-version": ANTHROPIC_VERSION,
        }
        if self._api_key:
            base["x-api-key"] = self._api_key
        body = encode_anthropic_request(request, model=upstream_model, default_max_tokens=default_max_tokens)
        return UpstreamRequest(
            url=self.provider.base_url.rstrip("/") + "/v1/messages",
            headers=_headers(base, self.provider),
            body=body,
            stream=request.stream,
        )

    def parse_response(self, body: bytes) -> ChatResponse:
        return parse_anthropic_response(body)

    def stream_decoder(self) -> AnthropicEventDecoder:
        return AnthropicEventDecoder()

    def error_message(self, body: bytes) -> str:
        return upstream_error_message(body)
