"""Password hashing with argon2id (argon2-cffi's RFC 9106 low-memory profile); CPU work, run off the event loop."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()  # argon2id, t=3, m=64 MiB, p=4: the library's maintained defaults
# Verified when the email is unknown, so a miss costs what a hit costs (no timing oracle for account existence).
_DUMMY_HASH = _HASHER.hash("tollway-timing-equaliser-password")


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """``True`` when ``password`` matches; a missing hash burns the same time and fails."""
    try:
        return _HASHER.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _HASHER.check_needs_rehash(stored_hash)
