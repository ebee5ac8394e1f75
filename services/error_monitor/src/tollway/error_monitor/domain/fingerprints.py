"""Error fingerprints: the message with its variable parts masked, plus type and location, hashed to a pattern id."""

from __future__ import annotations

import hashlib
import re

MAX_MESSAGE = 500

# Most specific first: a UUID is also hex digits, an URL also contains numbers.
_MASKS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"https?://\S+"), "<url>"),
    (re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"), "<email>"),
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I), "<uuid>"),
    (re.compile(r"\b(?:req|usr|key|inc|pat|txn|evt)_[A-Za-z0-9]+\b"), "<id>"),
    (re.compile(r"\b0x[0-9a-f]+\b|\b[0-9a-f]{12,}\b", re.I), "<hex>"),
    (re.compile(r"'[^']*'|\"[^\"]*\""), "<str>"),
    (re.compile(r"(?<![\w-])\d+(?:\.\d+)?"), "<n>"),  # not inside a name such as gpt-4o
    (re.compile(r"\s+"), " "),
)


def normalised(message: str) -> str:
    """``"timeout after 30.5s for req_ab12"`` → ``"timeout after <n>s for <id>"``: one pattern for every instance."""
    text = message[:MAX_MESSAGE]
    for pattern, mask in _MASKS:
        text = pattern.sub(mask, text)
    return text.strip()


def pattern_id(kind: str, location: str, message: str) -> str:
    """A stable id of (type, location, normalised message); the same error always maps to the same pattern."""
    digest = hashlib.sha256(f"{kind}\x1f{location}\x1f{normalised(message)}".encode()).hexdigest()
    return "pat_" + digest[:20]
