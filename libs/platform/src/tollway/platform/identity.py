"""The caller identity the gateway forwards to internal services, signed with the internal secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Literal

import msgspec

IDENTITY_HEADER = "x-tollway-identity"
SIGNATURE_HEADER = "x-tollway-signature"

Role = Literal["user", "admin", "anonymous"]


class Identity(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Who is calling, as established by the gateway; internal services trust it only when the signature holds."""

    request_id: str
    role: Role = "user"
    user_id: str | None = None
    account_id: str | None = None
    api_key_id: str | None = None
    is_anonymous: bool = False
    routing_strategy: str = "primary_first"
    expires_at: int = 0


class IdentityError(Exception):
    """Missing, tampered or expired identity headers."""


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Identity)


def sign_identity(identity: Identity, secret: bytes, ttl_s: int = 300) -> dict[str, str]:
    """The two headers carrying ``identity``, valid for ``ttl_s`` seconds."""
    stamped = msgspec.structs.replace(identity, expires_at=int(time.time()) + ttl_s)
    value = base64.urlsafe_b64encode(_encoder.encode(stamped)).decode()
    return {IDENTITY_HEADER: value, SIGNATURE_HEADER: _mac(secret, value)}


def verify_identity(value: str | None, signature: str | None, secret: bytes) -> Identity:
    """The identity in the headers, or ``IdentityError`` when unsigned, tampered with, or expired."""
    if not value or not signature:
        raise IdentityError("missing identity headers")
    if not hmac.compare_digest(_mac(secret, value), signature):
        raise IdentityError("bad identity signature")
    try:
        identity = _decoder.decode(base64.urlsafe_b64decode(value))
    except (ValueError, msgspec.DecodeError) as exc:
        raise IdentityError("malformed identity") from exc
    if identity.expires_at < time.time():
        raise IdentityError("identity expired")
    return identity


def _mac(secret: bytes, value: str) -> str:
    return hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()
