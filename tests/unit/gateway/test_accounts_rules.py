"""Pure account rules: password policy, key settings, IP allowlists, rotation expiry, cursors, domains, growth."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tollway.gateway.domain.accounts import (
    KeySettings,
    UnprocessableError,
    address_allowed,
    check_password,
    checked_key_settings,
    decode_cursor,
    email_domain,
    encode_cursor,
    growth,
    model_allowed,
    rotation_expiry,
)
from tollway.gateway.domain.accounts_passwords import hash_password, verify_password
from tollway.gateway.domain.errors import InvalidInputError

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "password",
    [
        "short",
        "x" * 257,
        "password1234",
        "Password123!",
        "qwertyuiop12",
        "aaaaaaaaaaaaaa",
        "abababababab",
        "abcdefghijklmn",
        "zyxwvutsrqponm",
        "lovelace-is-great",
    ],
)
def test_weak_passwords_are_refused(password: str) -> None:
    with pytest.raises(UnprocessableError) as refused:
        check_password(password, email="lovelace@example.com")
    assert refused.value.param == "password"


@pytest.mark.parametrize("password", ["correct horse battery staple", "Tr0ub4dor&3-but-longer", "zq8!Lm2#Vx9@Kp"])
def test_reasonable_passwords_pass(password: str) -> None:
    check_password(password, email="ada@example.com")


def test_argon2id_hashes_verify_and_a_missing_hash_never_matches() -> None:
    stored = hash_password("correct horse battery staple")
    assert stored.startswith("$argon2id$")
    assert verify_password(stored, "correct horse battery staple")
    assert not verify_password(stored, "correct horse battery stapl")
    assert not verify_password(None, "anything at all")
    assert not verify_password("not-a-hash", "anything at all")


def test_key_settings_are_normalised_and_bounded() -> None:
    settings = KeySettings(
        name="  ci  ",
        scopes=("read", "inference", "read"),
        allowed_models=("a", "b", "a"),
        ip_allowlist=("10.1.2.3/8", "2001:db8::1"),
        expires_at=NOW + timedelta(days=1),
    )
    checked = checked_key_settings(settings, NOW)
    assert checked.name == "ci"
    assert checked.scopes == ("inference", "read")
    assert checked.allowed_models == ("a", "b")
    assert checked.ip_allowlist == ("10.0.0.0/8", "2001:db8::1/128")
    for bad in (
        KeySettings(scopes=()),
        KeySettings(scopes=("admin",)),
        KeySettings(ip_allowlist=("example.com",)),
        KeySettings(expires_at=NOW - timedelta(seconds=1)),
        KeySettings(expires_at=datetime(2030, 1, 1)),  # noqa: DTZ001 - the naive timestamp is the point
        KeySettings(spend_limit_day_micros=-1),
        KeySettings(allowed_models=("",)),
    ):
        with pytest.raises(UnprocessableError):
            checked_key_settings(bad, NOW)


def test_ip_allowlists() -> None:
    rules = ("10.0.0.0/8", "2001:db8::/32")
    assert address_allowed(None, "1.2.3.4")
    assert address_allowed(rules, "10.200.0.1")
    assert address_allowed(rules, "2001:db8::5")
    assert not address_allowed(rules, "11.0.0.1")
    assert not address_allowed(rules, None)
    assert not address_allowed(rules, "testclient")


def test_allowed_models_match_any_given_name() -> None:
    assert model_allowed(None, "x")
    assert model_allowed(("gpt-4o",), "gpt-4o", "4o")
    assert not model_allowed(("gpt-4o",), "claude", "c")


def test_rotation_ends_at_the_grace_period_or_the_earlier_expiry() -> None:
    assert rotation_expiry(None, NOW, 60) == NOW + timedelta(seconds=60)
    assert rotation_expiry(NOW + timedelta(seconds=10), NOW, 60) == NOW + timedelta(seconds=10)
    with pytest.raises(UnprocessableError):
        rotation_expiry(None, NOW, 8 * 86_400)


def test_cursors_round_trip_and_forgeries_are_400() -> None:
    cursor = decode_cursor(encode_cursor(NOW, "usr_1"))
    assert cursor is not None
    assert (cursor.at, cursor.id) == (NOW, "usr_1")
    assert decode_cursor(None) is None
    with pytest.raises(InvalidInputError):
        decode_cursor("bm90IGEgY3Vyc29y")


@pytest.mark.parametrize("domain", ["gmail.com", "GMAIL.com", "", "nodot", "a@b.com", "%.com", "x_y.com"])
def test_domain_deletion_refuses_free_mail_and_patterns(domain: str) -> None:
    with pytest.raises(InvalidInputError):
        email_domain(domain)


def test_domain_is_normalised() -> None:
    assert email_domain(" @Corp.Example ") == "corp.example"


def test_growth_is_cumulative_and_oldest_first() -> None:
    rows = growth({"2026-12-01": 2, "2026-12-03": 1}, 10, 3, NOW)
    assert rows == [("2026-12-01", 2, 12), ("2026-12-02", 0, 12), ("2026-12-03", 1, 13)]
