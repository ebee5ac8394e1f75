"""Events published by inference_router: exactly one per request that reached it (the usage stream)."""

from __future__ import annotations

from typing import Literal

import msgspec

from tollway.contracts.base import Event

RequestStatus = Literal["ok", "cancelled"]
PublicApi = Literal["openai", "anthropic"]
# The public route family a request came through; ``api`` stays the error/format family (OpenAI or Anthropic).
Endpoint = Literal["chat", "responses", "completions", "embeddings", "ai_sdk", "gemini", "bedrock"]


class RequestCompletedV1(Event, frozen=True, kw_only=True, tag="router.request.completed.v1"):
    """A request was served (fully or until the client went away); ``event_id`` equals ``request_id``.

    Money is integer micro-USD. ``usage_estimated`` is true when the provider sent no usage (e.g. a cancelled
    stream) and the token counts were estimated from what was delivered. ``price_version`` names the price
    table ``cost_micros`` came from; ``cache_write_1h_tokens`` is the part of ``cache_write_tokens`` written
    with a 1-hour TTL; ``failed_attempts`` lists the deployments tried before the one that served it.
    """

    request_id: str
    user_id: str | None
    account_id: str | None
    api_key_id: str | None
    is_anonymous: bool
    requested_model: str
    provider: str
    upstream_model: str
    is_fallback: bool
    attempts: int
    prompt_tokens: int
    completion_tokens: int
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    usage_estimated: bool = False
    cost_micros: int = 0
    latency_ms: int = 0
    ttft_ms: int | None = None
    status: RequestStatus = "ok"
    api: PublicApi = "openai"
    stream: bool = False
    cache_write_1h_tokens: int = 0
    price_version: str = ""
    failed_attempts: tuple[ProviderAttemptV1, ...] = ()
    endpoint: Endpoint = "chat"


class ProviderAttemptV1(msgspec.Struct, frozen=True, kw_only=True):
    """One failed attempt against one deployment, as recorded in a request event."""

    provider: str
    upstream_model: str
    error_class: str
    status_code: int | None = None
    message: str = ""
    latency_ms: int = 0


class RequestFailedV1(Event, frozen=True, kw_only=True, tag="router.request.failed.v1"):
    """Every deployment failed (or none could be tried); the client got a 5xx. ``event_id`` equals ``request_id``."""

    request_id: str
    user_id: str | None
    account_id: str | None
    api_key_id: str | None
    is_anonymous: bool
    requested_model: str
    error_class: str
    status_code: int
    attempts: tuple[ProviderAttemptV1, ...] = ()
    latency_ms: int = 0
    api: PublicApi = "openai"
    stream: bool = False
    endpoint: Endpoint = "chat"
