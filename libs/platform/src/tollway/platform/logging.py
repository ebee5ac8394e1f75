"""JSON-lines logging with trace/span ids and secrets redacted before anything reaches a handler."""

from __future__ import annotations

import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

import msgspec
from opentelemetry import trace

# Keys whose values are never logged: credentials and user content (prompts, completions).
_SECRET_KEYS = frozenset(
    {
        "authorization",
        "api_key",
        "x-api-key",
        "password",
        "secret",
        "token",
        "prompt",
        "messages",
        "content",
        "completion",
        "internal_secret",
        "admin_key",
        "key",
    }
)
# Values that look like credentials wherever they appear in a message.
_SECRET_PATTERNS = re.compile(r"(tw_[A-Za-z0-9]{8,}|sk-[A-Za-z0-9_\-]{8,}|Bearer\s+[A-Za-z0-9._\-]+)")
_REDACTED = "[REDACTED]"
_STD_ATTRS = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime", "taskName"}
_encoder = msgspec.json.Encoder()


def redact_text(text: str) -> str:
    """Replace anything shaped like a credential in free text."""
    return _SECRET_PATTERNS.sub(_REDACTED, text)


def redact(value: Any, key: str = "") -> Any:
    """Redact secret-named keys and credential-shaped strings, recursively."""
    if key.lower() in _SECRET_KEYS:
        return _REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, service, trace ids and ``extra`` fields."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "service": self._service,
            "msg": redact_text(record.getMessage()),
        }
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            entry["trace_id"] = format(span.trace_id, "032x")
            entry["span_id"] = format(span.span_id, "016x")
        for name, value in vars(record).items():
            if name not in _STD_ATTRS and not name.startswith("_"):
                entry[name] = redact(value, name)
        if record.exc_info:
            entry["exc"] = redact_text(self.formatException(record.exc_info))
        return _encoder.encode(entry).decode()


def configure_logging(service: str, level: str = "INFO") -> None:
    """Route the root logger to stderr as JSON lines; idempotent."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("nats", "asyncio", "granian.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def logging_dict_config(service: str, level: str = "INFO") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` that sends every logger (granian's too) through the JSON formatter."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter, "service": service}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {"granian.access": {"level": "WARNING"}},
    }
