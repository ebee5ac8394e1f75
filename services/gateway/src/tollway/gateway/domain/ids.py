"""Identifiers of gateway entities: a type prefix plus random base62 (``usr_...``, ``key_...``)."""

from __future__ import annotations

import secrets

from tollway.gateway.domain.api_keys import ALPHABET

ID_RANDOM_CHARS = 24  # ~143 bits: unguessable, so ids leak nothing even when they appear in URLs and logs
REQUEST_ID_BYTES = 24  # 192 random bits folded into 24 base62 digits: no visible bias


def _new_id(prefix: str) -> str:
    return prefix + "".join(secrets.choice(ALPHABET) for _ in range(ID_RANDOM_CHARS))


def new_user_id() -> str:
    return _new_id("usr_")


def new_api_key_id() -> str:
    return _new_id("key_")


def new_session_id() -> str:
    return _new_id("ses_")


def new_request_id() -> str:
    """``req_`` + 24 base62 characters from one ``token_bytes`` call: cheap enough for every request."""
    number = int.from_bytes(secrets.token_bytes(REQUEST_ID_BYTES), "big")
    chars = []
    for _ in range(ID_RANDOM_CHARS):
        number, rest = divmod(number, 62)
        chars.append(ALPHABET[rest])
    return "req_" + "".join(chars)
