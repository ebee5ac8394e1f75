"""Internal HTTP API between the gateway and inference_router: header names and the catalogue document."""

from __future__ import annotations

from typing import Literal

import msgspec

# Which public format the body is in and the answer must be in; the router translates, the gateway passes bytes.
API_HEADER = "x-tollway-api"
REQUEST_ID_HEADER = "x-request-id"
PublicApiName = Literal["openai", "anthropic"]

CHAT_PATH = "/internal/v1/chat"
CATALOG_PATH = "/internal/v1/catalog"


class PricesOut(msgspec.Struct, frozen=True, kw_only=True):
    """Integer micro-USD per million tokens."""

    input: int
    output: int
    cache_read: int
    cache_write: int


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
