"""Admin bodies: unknown fields are refused (no mass assignment) and no response carries a digest."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from tollway.gateway.api.schemas import ApiKeyIn, ApiKeyOut, CreatedApiKeyOut, UserIn
from tollway.gateway.domain.api_keys import ApiKey, IssuedKey


@pytest.mark.parametrize("body", [b'{"email": "a@b.co", "is_active": false}', b'{"credits": 100}'])
def test_user_in_rejects_unknown_fields(body: bytes) -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(body, type=UserIn)


def test_api_key_in_rejects_unknown_fields() -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(b'{"digest": "x"}', type=ApiKeyIn)


def test_key_outputs_never_carry_the_digest() -> None:
    key = ApiKey(
        id="key_1", user_id="usr_1", digest="d" * 64, display_prefix="tw_abcdefgh", created_at=datetime.now(UTC)
    )
    listed = msgspec.json.encode(ApiKeyOut.of(key))
    created = msgspec.json.encode(CreatedApiKeyOut.issued(IssuedKey(api_key=key, plaintext="tw_plain")))
    assert b"d" * 64 not in listed
    assert b"d" * 64 not in created
    assert msgspec.json.decode(created)["key"] == "tw_plain"
