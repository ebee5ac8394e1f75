"""What registration accepts: normalised email, bounded names, known routing strategies."""

from __future__ import annotations

import pytest

from tollway.gateway.domain.errors import InvalidInputError
from tollway.gateway.domain.users import NewUser, validated, validated_key_name


def test_email_is_trimmed_and_lower_cased() -> None:
    assert validated(NewUser(email="  Ada@Example.COM ")).email == "ada@example.com"


def test_blank_display_name_becomes_none() -> None:
    assert validated(NewUser(display_name="   ")).display_name is None


@pytest.mark.parametrize(
    ("new", "param"),
    [
        (NewUser(email="not-an-email"), "email"),
        (NewUser(email="a@b"), "email"),
        (NewUser(email="x" * 320 + "@example.com"), "email"),
        (NewUser(display_name="n" * 201), "display_name"),
        (NewUser(routing_strategy="random"), "routing_strategy"),
    ],
)
def test_invalid_fields_are_named(new: NewUser, param: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        validated(new)
    assert caught.value.param == param


def test_key_names_are_trimmed_and_bounded() -> None:
    assert validated_key_name("  ci  ") == "ci"
    assert validated_key_name("") is None
    with pytest.raises(InvalidInputError):
        validated_key_name("k" * 201)
