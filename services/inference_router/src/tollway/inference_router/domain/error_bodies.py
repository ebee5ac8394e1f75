"""Reading upstream error bodies; the public error bodies themselves live in ``tollway.contracts.public_errors``."""

from __future__ import annotations

import msgspec

from tollway.contracts.public_errors import (
    ANTHROPIC_TYPES,
    anthropic_error_body,
    anthropic_error_type,
    openai_error_body,
    openai_error_type,
)

_MAX_UPSTREAM_MESSAGE = 500

_STATUS_OF_ANTHROPIC_TYPE = {kind: status for status, kind in ANTHROPIC_TYPES.items() if status not in (422, 503)}
_STATUS_OF_OPENAI_CODE = {"rate_limit_exceeded": 429, "insufficient_quota": 429, "server_error": 500}


class _ErrorDetail(msgspec.Struct):
    message: str = ""
    type: str | None = None
    code: str | int | None = None


class _ErrorEnvelope(msgspec.Struct):
    error: _ErrorDetail | str | None = None
    message: str | None = None


_ENVELOPE = msgspec.json.Decoder(_ErrorEnvelope)


def status_of_anthropic_error(kind: str) -> int:
    """The HTTP status an Anthropic error type stands for (used for errors that arrive inside a stream)."""
    return _STATUS_OF_ANTHROPIC_TYPE.get(kind, 500)


def status_of_openai_error(code: str | int | None, kind: str | None) -> int:
    if isinstance(code, int) and 400 <= code <= 599:
        return code
    return _STATUS_OF_OPENAI_CODE.get(str(code), _STATUS_OF_OPENAI_CODE.get(kind or "", 500))


def upstream_error_message(body: bytes) -> str:
    """The human message of an OpenAI- or Anthropic-shaped error body, else the start of the body itself."""
    try:
        envelope = _ENVELOPE.decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return body[:_MAX_UPSTREAM_MESSAGE].decode("utf-8", errors="replace")
    if isinstance(envelope.error, _ErrorDetail) and envelope.error.message:
        return envelope.error.message[:_MAX_UPSTREAM_MESSAGE]
    text = envelope.error if isinstance(envelope.error, str) else envelope.message
    return (text or body[:_MAX_UPSTREAM_MESSAGE].decode("utf-8", errors="replace"))[:_MAX_UPSTREAM_MESSAGE]


__all__ = [
    "anthropic_error_body",
    "anthropic_error_type",
    "openai_error_body",
    "openai_error_type",
    "status_of_anthropic_error",
    "status_of_openai_error",
    "upstream_error_message",
]
