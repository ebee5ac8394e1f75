"""Internal HTTP API between the gateway and inference_router: header names and the catalogue document."""

from __future__ import annotations

from typing import Literal

import msgspec

# Which public format the body is in and the answer must be in; the router translates, the gateway passes bytes.
API_HEADER = "x-tollway-api"
REQUEST_ID_HEADER = "x-request-id"
# The OpenAI-shaped routes beside chat (Responses, legacy completions, embeddings) and the Vercel AI SDK data stream
# travel the same chat path, as do Gemini's and Bedrock Runtime's own shapes (``gemini``, ``bedrock``: the model is in
# their paths, so the gateway forwards ``{"model", "stream", "request": <client body>}``); each answers errors in its
# own shape, the OpenAI-shaped routes in OpenAI's.
PublicApiName = Literal[
    "openai", "anthropic", "openai_responses", "openai_completions", "openai_embeddings", "ai_sdk", "gemini", "bedrock"
]

CHAT_PATH = "/internal/v1/chat"
CATALOG_PATH = "/internal/v1/catalog"


class PricesOut(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Integer micro-USD per million tokens (``per_request``: micro-USD per request).

    ``cache_write`` is the 5-minute cache write; ``cache_write_1h`` and ``reasoning`` are ``None`` when they cost
    the same as ``cache_write`` and ``output``; fields at their default are left out, so ``/v1/models`` shows only
    the prices a model has.
    """

    input: int
    output: int
    cache_read: int
    cache_write: int
    cache_write_1h: int | None = None
    reasoning: int | None = None
    per_request: int = 0


class ModelOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    aliases: tuple[str, ...] = ()
    context_window: int
    max_output_tokens: int
    anonymous_allowed: bool = False
    prices: PricesOut
    owned_by: str = "tollway"


class CatalogOut(msgspec.Struct, frozen=True, kw_only=True):
    """The public models the router serves; the gateway caches it for ``/v1/models``, limits and credit holds."""

    models: tuple[ModelOut, ...]
    version: str = ""
