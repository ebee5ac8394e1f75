"""Signed identity headers: accepted when intact and fresh, rejected otherwise."""

from __future__ import annotations

import msgspec
import pytest

from tollway.platform.identity import (
    IDENTITY_HEADER,
    SIGNATURE_HEADER,
    Identity,
    IdentityError,
    sign_identity,
    verify_identity,
)

SECRET = b"internal"
WHO = Identity(request_id="r1", user_id="usr_1", account_id="acc_1", api_key_id="key_1")


def test_signed_identity_round_trips() -> None:
    headers = sign_identity(WHO, SECRET)
    got = verify_identity(headers[IDENTITY_HEADER], headers[SIGNATURE_HEADER], SECRET)
    assert msgspec.structs.replace(got, expires_at=0) == WHO


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda h: {**h, SIGNATURE_HEADER: "0" * 64}, "bad identity signature"),
        (lambda h: {**h, IDENTITY_HEADER: h[IDENTITY_HEADER][:-4] + "AAAA"}, "bad identity signature"),
        (lambda h: {IDENTITY_HEADER: h[IDENTITY_HEADER]}, "missing identity headers"),
        (lambda h: {}, "missing identity headers"),
    ],
)
def test_tampered_or_missing_headers_are_rejected(mutate: object, message: str) -> None:
    headers = mutate(sign_identity(WHO, SECRET))  # type: ignore[operator]
    with pytest.raises(IdentityError, match=message):
        verify_identity(headers.get(IDENTITY_HEADER), headers.get(SIGNATURE_HEADER), SECRET)


def test_another_secret_is_rejected() -> None:
    headers = sign_identity(WHO, SECRET)
    with pytest.raises(IdentityError):
        verify_identity(headers[IDENTITY_HEADER], headers[SIGNATURE_HEADER], b"other")


def test_expired_identity_is_rejected() -> None:
    headers = sign_identity(WHO, SECRET, ttl_s=-1)
    with pytest.raises(IdentityError, match="expired"):
        verify_identity(headers[IDENTITY_HEADER], headers[SIGNATURE_HEADER], SECRET)
