"""API key format (``tw_`` + 40 base62 + 6-char CRC32 checksum), display prefix and peppered HMAC digest."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
import zlib
from datetime import datetime

import msgspec

ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase
KEY_PREFIX = "tw_"
BODY_LENGTH = 40  # 40 base62 chars ~ 238 random bits: far beyond guessing, so one HMAC pass is enough
CHECKSUM_LENGTH = 6  # 62**6 > 2**32: a CRC32 always fits
KEY_LENGTH = len(KEY_PREFIX) + BODY_LENGTH + CHECKSUM_LENGTH
DISPLAY_BODY_CHARS = 8
_ALPHABET_SET = frozenset(ALPHABET)


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, rest = divmod(number, 62)
        digits.append(ALPHABET[rest])
    return "".join(reversed(digits))


def checksum(body: str) -> str:
    """The 6-char suffix that lets anyone (scanners, the gateway) reject a mistyped key offline."""
    return _base62(zlib.crc32(body.encode("ascii")), CHECKSUM_LENGTH)


def generate_key() -> str:
    """A fresh plaintext key; shown to its owner once and never stored."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY_LENGTH))
    return KEY_PREFIX + body + checksum(body)


def is_well_formed(candidate: str) -> bool:
    """Prefix, length, alphabet and checksum: every check a key passes before any cache or database lookup."""
    if len(candidate) != KEY_LENGTH or not candidate.startswith(KEY_PREFIX):
        return False
    rest = candidate[len(KEY_PREFIX) :]
    if not _ALPHABET_SET.issuperset(rest):
        return False
    body, suffix = rest[:BODY_LENGTH], rest[BODY_LENGTH:]
    return hmac.compare_digest(checksum(body), suffix)


def display_prefix(key: str) -> str:
    """The non-secret part shown in listings so owners can tell their keys apart: ``tw_`` + 8 body chars."""
    return key[: len(KEY_PREFIX) + DISPLAY_BODY_CHARS]


class KeyDigester:
    """HMAC-SHA256 under the server pepper: the only form in which a key (or the admin key) is stored or compared."""

    def __init__(self, pepper: str) -> None:
        if not pepper:
            raise ValueError("the key pepper must not be empty")
        self._mac = hmac.new(pepper.encode(), digestmod=hashlib.sha256)

    def digest(self, key: str) -> str:
        mac = self._mac.copy()  # the pepper's inner/outer pads are computed once, not per request
        mac.update(key.encode())
        return mac.hexdigest()

    def matches(self, key: str, expected_digest: str) -> bool:
        """Constant-time comparison of ``key``'s digest with a stored one."""
        return hmac.compare_digest(self.digest(key), expected_digest)


class ApiKey(msgspec.Struct, frozen=True, kw_only=True):
    """A stored key: its digest and display prefix, never the key itself."""

    id: str
    user_id: str
    digest: str
    display_prefix: str
    name: str | None = None
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None
    scopes: tuple[str, ...] = ("inference", "read", "account")
    allowed_models: tuple[str, ...] | None = None  # None: every model
    ip_allowlist: tuple[str, ...] | None = None  # CIDRs; None: any address
    spend_limit_day_micros: int | None = None
    spend_limit_month_micros: int | None = None
    rotated_to: str | None = None


class IssuedKey(msgspec.Struct, frozen=True, kw_only=True):
    """A key just created: the only moment its plaintext exists outside its owner's hands."""

    api_key: ApiKey
    plaintext: str
