"""Error bodies shaped like each provider's, so SDKs raise their usual exception classes."""

from typing import Literal

import msgspec

Provider = Literal["openai", "anthropic"]

# status -> (OpenAI error type, OpenAI error code, Anthropic error type)
_KINDS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "invalid_request_error"),
    401: ("invalid_request_error", "invalid_api_key", "authentication_error"),
    402: ("insufficient_quota", "insufficient_quota", "billing_error"),
    403: ("invalid_request_error", "unsupported_country_region_territory", "permission_error"),
    404: ("invalid_request_error", "unknown_url", "not_found_error"),
    405: ("invalid_request_error", "method_not_allowed", "invalid_request_error"),
    413: ("invalid_request_error", "request_too_large", "request_too_large"),
    429: ("requests", "rate_limit_exceeded", "rate_limit_error"),
    500: ("server_error", None, "api_error"),
    503: ("server_error", None, "overloaded_error"),
    504: ("server_error", None, "timeout_error"),
    529: ("server_error", None, "overloaded_error"),
}


def _kind(status: int) -> tuple[str, str | None, str]:
    if status in _KINDS:
        return _KINDS[status]
    return _KINDS[500] if status >= 500 else _KINDS[400]


def openai_error(status: int, message: str, param: str | None = None) -> bytes:
    kind, code, _ = _kind(status)
    return msgspec.json.encode({"error": {"message": message, "type": kind, "param": param, "code": code}})


def anthropic_error(status: int, message: str) -> bytes:
    return msgspec.json.encode({"type": "error", "error": {"type": _kind(status)[2], "message": message}})


def error_body(provider: Provider, status: int, message: str) -> bytes:
    if provider == "anthropic":
        return anthropic_error(status, message)
    return openai_error(status, message)


def provider_for_path(path: str) -> Provider:
    """Which provider's error shape a path speaks; OpenAI's is the default."""
    return "anthropic" if path.startswith("/v1/messages") else "openai"
