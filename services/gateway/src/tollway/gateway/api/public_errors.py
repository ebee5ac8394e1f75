"""Gateway refusals in the caller's API: OpenAI's ``{"error": {...}}`` or Anthropic's ``{"type": "error", ...}``."""

from __future__ import annotations

from typing import Any

from tollway.contracts.internal_api import PublicApiName
from tollway.contracts.public_errors import anthropic_error_body, openai_error_body
from tollway.gateway.api.exchange import encode_headers, send_whole
from tollway.gateway.domain.rejections import PublicError


def error_body(api: PublicApiName, error: PublicError) -> bytes:
    if api == "anthropic":
        return anthropic_error_body(error.status, error.message)
    return openai_error_body(error.status, error.message, param=error.param, code=error.code)


async def send_error(
    send: Any, api: PublicApiName, error: PublicError, request_id: str, extra: dict[str, str] | None = None
) -> None:
    """A whole error response; ``extra`` (rate-limit headers) first, so the error's own headers win."""
    headers = {"content-type": "application/json", "x-request-id": request_id, **(extra or {}), **error.headers}
    await send_whole(send, error.status, encode_headers(headers.items()), error_body(api, error))
