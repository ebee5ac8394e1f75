"""Fix suggestions: what a model is told about an error pattern, and the advice kept for operators (never applied)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Literal

import msgspec

from tollway.error_monitor.domain.views import ErrorView, PatternView
from tollway.platform.logging import redact_text

RECENT_OCCURRENCES = 5
OCCURRENCE_CHARS = 300
SYSTEM_PROMPT = (
    "You advise the operators of Tollway, an LLM API gateway made of Python services (gateway, inference_router, "
    "billing, analytics, error_monitor) over NATS JetStream, Postgres and Redis. You are shown one recurring error "
    "pattern. Explain its most likely cause and the concrete steps to fix or mitigate it, most likely first, and "
    "what to check to confirm. You cannot see the code and nothing you write is applied automatically. Be brief."
)

AdvisorFailure = Literal["unreachable", "timeout", "refused", "malformed"]


class ChatMessage(msgspec.Struct, frozen=True):
    role: Literal["system", "user"]
    content: str


class Advice(msgspec.Struct, frozen=True, kw_only=True):
    """The model's answer as the gateway returned it."""

    text: str
    model: str
    gateway_request_id: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0


class FixSuggestion(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    pattern_id: str
    model: str
    suggestion: str
    requested_by: str
    created_at: datetime
    idempotency_key: str | None = None
    gateway_request_id: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0


class SuggestionsNotConfiguredError(Exception):
    """No gateway URL, key or model is configured for fix suggestions."""


class AdvisorError(Exception):
    """The gateway could not give advice: unreachable, too slow, refused (with its status) or answered nonsense."""

    def __init__(self, failure: AdvisorFailure, detail: str = "", status: int | None = None) -> None:
        super().__init__(detail or failure)
        self.failure = failure
        self.detail = detail
        self.status = status


class IdempotencyConflictError(Exception):
    """An Idempotency-Key already used for a suggestion about another pattern."""


def new_suggestion_id() -> str:
    return "sug_" + uuid.uuid4().hex[:24]


def fix_prompt(pattern: PatternView, recent: Sequence[ErrorView]) -> list[ChatMessage]:
    """The pattern as the model sees it: its normalised form, classification and a few recent occurrences.

    Reported errors are scrubbed by their reporters; anything credential-shaped left in an occurrence is redacted
    again here, and nothing else (no request, prompt, key or user) is sent.
    """
    lines = [
        f"Error pattern {pattern.id}",
        f"service: {pattern.service}",
        f"type: {pattern.kind}",
        f"location: {pattern.location or '-'}",
        f"severity: {pattern.severity} (category {pattern.category}, fixable: {'yes' if pattern.fixable else 'no'})",
        f"occurrences: {pattern.count}, first {pattern.first_seen.isoformat()}, last {pattern.last_seen.isoformat()}",
        f"normalised message: {redact_text(pattern.message)}",
    ]
    if pattern.suggested_fix:
        lines.append(f"rule-based hint: {pattern.suggested_fix}")
    if recent:
        lines.append("recent occurrences, newest first:")
        lines += [_occurrence(error) for error in recent[:RECENT_OCCURRENCES]]
    return [ChatMessage("system", SYSTEM_PROMPT), ChatMessage("user", "\n".join(lines))]


def _occurrence(error: ErrorView) -> str:
    where = f" provider={error.provider}" if error.provider else ""
    message = redact_text(error.message)[:OCCURRENCE_CHARS]
    return f"- {error.occurred_at.isoformat()} {error.service} level={error.level}{where}: {message}"


def replayed(stored: FixSuggestion, pattern_id: str) -> FixSuggestion:
    """The suggestion stored under a key, for the same pattern; the key used for another pattern is a conflict."""
    if stored.pattern_id != pattern_id:
        raise IdempotencyConflictError(f"this Idempotency-Key was used for a suggestion about {stored.pattern_id}")
    return stored
