"""Idempotent requests: a fingerprint of what was asked, and the rule for a key seen before."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import msgspec

from tollway.billing.domain.errors import IdempotencyConflictError, InvalidInputError, MissingIdempotencyKeyError

MAX_KEY_LENGTH = 255
_canonical = msgspec.json.Encoder(order="sorted")


class StoredResponse(msgspec.Struct, frozen=True):
    """The first outcome under a key: replayed byte for byte for the same request."""

    fingerprint: str
    body: bytes


def fingerprint(operation: str, target: str, payload: Mapping[str, Any]) -> str:
    """SHA-256 of the operation, its target and the canonical JSON of its parameters."""
    canonical = _canonical.encode([operation, target, payload])
    return hashlib.sha256(canonical).hexdigest()


def require_key(key: str | None) -> str:
    if key is None or not key.strip():
        raise MissingIdempotencyKeyError
    if len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidInputError(f"Idempotency-Key must be 1-{MAX_KEY_LENGTH} printable characters", "Idempotency-Key")
    return key


def replay(stored: StoredResponse, request_fingerprint: str) -> bytes:
    """The stored body when the request is the same one; a different request under the key is a conflict."""
    if stored.fingerprint != request_fingerprint:
        raise IdempotencyConflictError
    return stored.body
