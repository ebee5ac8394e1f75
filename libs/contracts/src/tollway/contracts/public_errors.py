"""Error bodies of the two public APIs, shared by every service that answers a client (one vocabulary)."""

from __future__ import annotations

import msgspec

_encoder = msgspec.json.Encoder()
SERVER_ERROR = 500

# OpenAI itself answers an unknown model with 404 and type invalid_request_error (code model_not_found).
OPENAI_TYPES = {
    401: "authentication_error",
    402: "insufficient_quota",
    403: "permission_error",
    429: "rate_limit_error",
}
ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    422: "invalid_request_error",
    429: "rate_limit_error",
    503: "overloaded_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def openai_error_type(status: int) -> str:
    return OPENAI_TYPES.get(status, "invalid_request_error" if status < SERVER_ERROR else "server_error")


def anthropic_error_type(status: int) -> str:
    return ANTHROPIC_TYPES.get(status, "invalid_request_error" if status < SERVER_ERROR else "api_error")


def openai_error_body(status: int, message: str, *, param: str | None = None, code: str | None = None) -> bytes:
    """``{"error": {"message", "type", "param", "code"}}`` as the OpenAI SDKs expect it."""
    return _encoder.encode(
        {"error": {"message": message, "type": openai_error_type(status), "param": param, "code": code}}
    )


def anthropic_error_body(status: int, message: str) -> bytes:
    """``{"type": "error", "error": {"type", "message"}}`` as the Anthropic SDKs expect it."""
    return _encoder.encode({"type": "error", "error": {"type": anthropic_error_type(status), "message": message}})
