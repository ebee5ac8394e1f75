"""Gateway refusals in the caller's API: OpenAI's, Anthropic's, Gemini's or Bedrock's error shape."""

from __future__ import annotations

from typing import Any

from tollway.contracts.internal_api import PublicApiName
from tollway.contracts.public_errors import (
    BEDROCK_ERROR_HEADER,
    anthropic_error_body,
    bedrock_error_body,
    bedrock_error_type,
    gemini_error_body,
    openai_error_body,
)
from tollway.gateway.api.exchange import encode_headers, send_whole
from tollway.gateway.domain.rejections import PublicError


def error_body(api: PublicApiName, error: PublicError) -> bytes:
    match api:
        case "anthropic":
            return anthropic_error_body(error.status, error.message)
        case "gemini":
            return gemini_error_body(error.status, error.message)
        case "bedrock":
            return bedrock_error_body(error.message)
    return openai_error_body(error.status, error.message, param=error.param, code=error.code)


async def send_error(
    send: Any, api: PublicApiName, error: PublicError, request_id: str, extra: dict[str, str] | None = None
) -> None:
    """A whole error response; ``extra`` (rate-limit headers) first, so the error's own headers win."""
    headers = {"content-type": "application/json", "x-request-id": request_id, **(extra or {}), **error.headers}
    if api == "bedrock":
        headers[BEDROCK_ERROR_HEADER] = bedrock_error_type(error.status)
    await send_whole(send, error.status, encode_headers(headers.items()), error_body(api, error))
