"""Upstream calls as data: the HTTP request to send, and the pure OpenAI/Anthropic provider adapters that build it."""

from __future__ import annotations

from urllib.parse import quote

import msgspec

from tollway.inference_router.domain.anthropic_body import encode_anthropic_request
from tollway.inference_router.domain.anthropic_response import parse_anthropic_response
from tollway.inference_router.domain.anthropic_stream import AnthropicEventDecoder
from tollway.inference_router.domain.canonical import ChatRequest, ChatResponse
from tollway.inference_router.domain.catalog import Provider
from tollway.inference_router.domain.error_bodies import upstream_error_message
from tollway.inference_router.domain.gemini_body import encode_gemini_request
from tollway.inference_router.domain.gemini_response import GeminiChunkDecoder, parse_gemini_response
from tollway.inference_router.domain.openai_request import openai_request_wire
from tollway.inference_router.domain.openai_response import parse_openai_response
from tollway.inference_router.domain.openai_stream import OpenAIChunkDecoder

ANTHROPIC_VERSION = "2023-06-01"
_ENCODER = msgspec.json.Encoder()


class UpstreamRequest(msgspec.Struct, frozen=True, kw_only=True):
    """Everything a transport needs to send one upstream call; ``stream`` says how to read the answer."""

    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    stream: bool
    method: str = "POST"
    budget_s: float | None = None  # this attempt's share of the request deadline (``None``: the transport's own)


def _headers(base: dict[str, str], provider: Provider) -> tuple[tuple[str, str], ...]:
    """Provider headers from the catalogue win over the defaults (e.g. a newer ``anthropic-version``)."""
    merged = {**base, **{name.lower(): value for name, value in provider.headers.items()}}
    return tuple(merged.items())


def auth_headers(provider: Provider, api_key: str | None, *, header: str, scheme: str) -> dict[str, str]:
    """The key under the catalogue's ``auth_header``/``auth_scheme``, else the kind's default; none without a key."""
    if not api_key:
        return {}
    name = (provider.auth_header or header).lower()
    prefix = provider.auth_scheme if provider.auth_scheme is not None else (scheme if name == header else "")
    return {name: f"{prefix} {api_key}" if prefix else api_key}


def openai_chat_body(request: ChatRequest, provider: Provider, *, model: str, stream_usage: bool) -> bytes:
    """The chat body with the provider's quirks applied (cap field name, dropped fields, stream usage)."""
    quirks = provider.quirks
    # A stream must report usage, whatever the client asked: it is what the request is billed on.
    # ``metadata`` is the caller's bookkeeping with Tollway (OpenAI only accepts it with ``store``).
    sent = msgspec.structs.replace(request, include_usage=request.stream and stream_usage, metadata=None)
    wire = openai_request_wire(sent, model=model)
    changes: dict[str, object] = dict.fromkeys(quirks.drop_params)
    if quirks.max_tokens_field == "max_completion_tokens":
        changes |= {"max_tokens": None, "max_completion_tokens": wire.max_tokens}
    return _ENCODER.encode(msgspec.structs.replace(wire, **changes) if changes else wire)


def _accept(stream: bool) -> dict[str, str]:
    return {"content-type": "application/json", "accept": "text/event-stream" if stream else "application/json"}


class OpenAICompatibleUpstream:
    """Adapter for ``openai_compatible`` providers (``POST {base_url}{quirks.chat_path}``, Bearer key by default)."""

    def __init__(self, provider: Provider, api_key: str | None) -> None:
        self.provider = provider
        self._api_key = api_key

    def build_request(self, request: ChatRequest, *, upstream_model: str, default_max_tokens: int) -> UpstreamRequest:
        quirks = self.provider.quirks
        base = _accept(request.stream) | self._auth()
        return UpstreamRequest(
            url=self.provider.base_url.rstrip("/") + quirks.chat_path,
            headers=_headers(base, self.provider),
            body=openai_chat_body(request, self.provider, model=upstream_model, stream_usage=quirks.stream_usage),
            stream=request.stream,
        )

    def parse_response(self, body: bytes) -> ChatResponse:
        return parse_openai_response(body)

    def build_embeddings_request(self, body: bytes, *, upstream_model: str) -> UpstreamRequest:
        """``body`` already names ``upstream_model``; it goes out as the client wrote it."""
        base = _accept(False) | self._auth()
        url = self.provider.base_url.rstrip("/") + self.provider.quirks.embeddings_path
        return UpstreamRequest(url=url, headers=_headers(base, self.provider), body=body, stream=False)

    def _auth(self) -> dict[str, str]:
        return auth_headers(self.provider, self._api_key, header="authorization", scheme="Bearer")

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
        base = _accept(request.stream) | {"anthropic-version": ANTHROPIC_VERSION}
        base |= auth_headers(self.provider, self._api_key, header="x-api-key", scheme="")
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


class AzureOpenAIUpstream(OpenAICompatibleUpstream):
    """Adapter for ``azure_openai``: ``POST {base_url}/openai/deployments/{deployment}/chat/completions``.

    ``upstream_model`` is the deployment name; ``api-version`` goes in the query and the key in ``api-key``.
    """

    def build_request(self, request: ChatRequest, *, upstream_model: str, default_max_tokens: int) -> UpstreamRequest:
        base = _accept(request.stream) | self._auth()
        return UpstreamRequest(
            url=self.deployment_url(upstream_model, "chat/completions"),
            headers=_headers(base, self.provider),
            body=openai_chat_body(request, self.provider, model=upstream_model, stream_usage=True),
            stream=request.stream,
        )

    def build_embeddings_request(self, body: bytes, *, upstream_model: str) -> UpstreamRequest:
        url = self.deployment_url(upstream_model, "embeddings")
        return UpstreamRequest(
            url=url, headers=_headers(_accept(False) | self._auth(), self.provider), body=body, stream=False
        )

    def _auth(self) -> dict[str, str]:
        return auth_headers(self.provider, self._api_key, header="api-key", scheme="")

    def deployment_url(self, deployment: str, operation: str) -> str:
        root = self.provider.base_url.rstrip("/")
        version = quote(self.provider.api_version or "", safe="")
        return f"{root}/openai/deployments/{quote(deployment, safe='+=')}/{operation}?api-version={version}"


class GeminiUpstream:
    """Adapter for ``gemini``: ``POST {base_url}/models/{model}:generateContent`` (``base_url`` ends in ``/v1beta``).

    Streams use ``:streamGenerateContent?alt=sse``; the key goes in ``x-goog-api-key``.
    """

    def __init__(self, provider: Provider, api_key: str | None) -> None:
        self.provider = provider
        self._api_key = api_key

    def build_request(self, request: ChatRequest, *, upstream_model: str, default_max_tokens: int) -> UpstreamRequest:
        method = "streamGenerateContent?alt=sse" if request.stream else "generateContent"
        base = _accept(request.stream) | auth_headers(self.provider, self._api_key, header="x-goog-api-key", scheme="")
        return UpstreamRequest(
            url=f"{self.provider.base_url.rstrip('/')}/models/{quote(upstream_model, safe='+=')}:{method}",
            headers=_headers(base, self.provider),
            body=encode_gemini_request(request, default_max_tokens=default_max_tokens),
            stream=request.stream,
        )

    def parse_response(self, body: bytes) -> ChatResponse:
        return parse_gemini_response(body)

    def stream_decoder(self) -> GeminiChunkDecoder:
        return GeminiChunkDecoder()

    def error_message(self, body: bytes) -> str:
        return upstream_error_message(body)
