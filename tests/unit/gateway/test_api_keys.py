"""Key format, checksum, display prefix and peppered digest: every malformed key is caught offline."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tollway.gateway.domain import api_keys
from tollway.gateway.domain.api_keys import ALPHABET, KeyDigester

KEY_SHAPE = re.compile(r"^tw_[0-9A-Za-z]{46}$")


def test_a_key_is_prefix_body_and_checksum() -> None:
    key = api_keys.generate_key()
    assert KEY_SHAPE.match(key)
    body, suffix = key[3:43], key[43:]
    assert api_keys.checksum(body) == suffix
    assert api_keys.is_well_formed(key)


def test_keys_are_unique() -> None:
    assert len({api_keys.generate_key() for _ in range(1000)}) == 1000


def test_display_prefix_is_tw_and_eight_body_chars() -> None:
    key = api_keys.generate_key()
    assert api_keys.display_prefix(key) == key[:11]
    assert len(api_keys.display_prefix(key)) == 11


@given(position=st.integers(min_value=3, max_value=48), replacement=st.sampled_from(ALPHABET))
def test_any_single_character_change_fails_the_checksum(position: int, replacement: str) -> None:
    key = api_keys.generate_key()
    changed = key[:position] + replacement + key[position + 1 :]
    assert api_keys.is_well_formed(changed) == (changed == key)


MALFORMED = {
    "empty": "",
    "prefix_only": "tw_",
    "other_vendor": "sk-" + "a" * 46,
    "too_short": "tw_" + "a" * 45,
    "too_long": "tw_" + "a" * 47,
    "upper_prefix": "TW_" + api_keys.generate_key()[3:],
    "bad_char_in_checksum": api_keys.generate_key()[:-1] + "!",
    "non_ascii": api_keys.generate_key()[:10] + "\u00e9" + api_keys.generate_key()[11:],
    "leading_space": " " + api_keys.generate_key()[1:],
}


@pytest.mark.parametrize("candidate", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_keys_are_rejected(candidate: str) -> None:
    assert not api_keys.is_well_formed(candidate)


def test_digest_is_hmac_sha256_hex_under_the_pepper() -> None:
    key = api_keys.generate_key()
    digest = KeyDigester("pepper-a").digest(key)
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert KeyDigester("pepper-a").digest(key) == digest
    assert KeyDigester("pepper-b").digest(key) != digest
    assert key not in digest


def test_matches_compares_a_key_with_a_stored_digest() -> None:
    digester = KeyDigester("pepper")
    key = api_keys.generate_key()
    assert digester.matches(key, digester.digest(key))
    assert not digester.matches(api_keys.generate_key(), digester.digest(key))


def test_an_empty_pepper_is_refused() -> None:
    with pytest.raises(ValueError, match="pepper"):
        KeyDigester("")
