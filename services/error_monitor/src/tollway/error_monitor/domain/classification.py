"""Error categories, severity and fixability: the earlier system's documented rules (seed 004 rows 97-101)."""

from __future__ import annotations

import re
from typing import Literal

import msgspec

Category = Literal[
    "PROVIDER_ERROR",
    "DATABASE_ERROR",
    "RATE_LIMIT_ERROR",
    "AUTH_ERROR",
    "TIMEOUT_ERROR",
    "VALIDATION_ERROR",
    "CACHE_ERROR",
    "EXTERNAL_SERVICE_ERROR",
    "INTERNAL_ERROR",
    "UNKNOWN",
]
Impact = Literal["critical", "high", "medium", "low"]
IMPACT_RANK: dict[str, int] = {"critical": 0, "high": 1, "medium": 2, "low": 3}

PROVIDERS = ("openai", "anthropic", "bedrock", "openrouter", "google", "gemini", "azure", "mistral", "groq")


class Classification(msgspec.Struct, frozen=True, kw_only=True):
    category: Category
    impact: Impact
    fixable: bool
    suggested_fix: str | None


def _has(text: str, *words: str) -> bool:
    return any(re.search(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])", text) for word in words)


# (only when a provider is named, any of these words, category, impact), tried in the documented order.
_RULES: tuple[tuple[bool, tuple[str, ...], Category, Impact], ...] = (
    (True, ("timeout", "timed out", "503", "504"), "PROVIDER_ERROR", "high"),
    (True, ("401", "403"), "AUTH_ERROR", "high"),
    (True, (), "PROVIDER_ERROR", "medium"),
    (
        False,
        ("supabase", "postgresql", "postgres", "database", "connection pool", "asyncpg"),
        "DATABASE_ERROR",
        "critical",
    ),
    (False, ("rate limit", "rate_limit", "429", "too many requests"), "RATE_LIMIT_ERROR", "medium"),
    (False, ("unauthorized", "invalid api key", "invalid_api_key", "401"), "AUTH_ERROR", "high"),
    (False, ("timeout", "timed out", "deadlineexceeded", "deadline exceeded"), "TIMEOUT_ERROR", "medium"),
    (False, ("validation", "invalid"), "VALIDATION_ERROR", "low"),
    (False, ("redis", "cache"), "CACHE_ERROR", "medium"),
    (False, ("stripe", "resend", "email", "smtp", "payment"), "EXTERNAL_SERVICE_ERROR", "high"),
)
# Which fix applies inside a category: (category, words that pick the specific fix, its key).
_SUB_RULES = (
    ("TIMEOUT_ERROR", ("upstream", "provider"), "provider"),
    ("DATABASE_ERROR", ("pool", "too many connections"), "pool"),
    ("AUTH_ERROR", ("invalid api key", "invalid_api_key"), "invalid key"),
)


def _category(text: str, provider: str | None) -> tuple[Category, Impact]:
    names_provider = provider is not None or _has(text, *PROVIDERS)
    for needs_provider, words, category, impact in _RULES:
        # Once a provider is named, the third rule catches whatever the first two did not.
        if (names_provider or not needs_provider) and (not words or _has(text, *words)):
            return category, impact
    return "INTERNAL_ERROR", "medium"


def _sub_rule(category: str, text: str) -> str:
    return next((key for cat, words, key in _SUB_RULES if cat == category and _has(text, *words)), "")


_FIXES: dict[tuple[str, str], str] = {
    ("RATE_LIMIT_ERROR", ""): "Back off and retry with jitter, honour Retry-After, or raise the limit.",
    ("TIMEOUT_ERROR", "provider"): "Raise the provider timeout or add a faster fallback deployment.",
    ("TIMEOUT_ERROR", ""): "Raise the timeout of the slow call or make it asynchronous.",
    ("CACHE_ERROR", ""): "Check Redis reachability and memory; degrade to the uncached path on error.",
    ("DATABASE_ERROR", "pool"): "Raise the connection pool size or shorten transactions that hold connections.",
    ("DATABASE_ERROR", ""): "Check Postgres health and retry transient failures with backoff.",
    ("AUTH_ERROR", "invalid key"): "Rotate the invalid key and update the secret where it is configured.",
    ("AUTH_ERROR", ""): "Check the credentials configured for this call and their permissions.",
}
_NOT_FIXABLE = {"PROVIDER_ERROR", "VALIDATION_ERROR", "EXTERNAL_SERVICE_ERROR", "INTERNAL_ERROR", "UNKNOWN"}


def classify(message: str, kind: str = "", provider: str | None = None) -> Classification:
    """Category, impact and fixability of an error from its message and kind (case-insensitive)."""
    text = f"{kind} {message}".lower()
    category, impact = _category(text, provider)
    rule = _sub_rule(category, text)
    if category in _NOT_FIXABLE:
        return Classification(category=category, impact=impact, fixable=False, suggested_fix=None)
    # A provider-authentication error is not ours to fix by retrying; its generic auth advice still applies.
    fix = _FIXES.get((category, rule)) or _FIXES.get((category, ""))
    return Classification(category=category, impact=impact, fixable=fix is not None, suggested_fix=fix)
