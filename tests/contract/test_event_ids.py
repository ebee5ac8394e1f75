"""Event ids are RFC 4122 version-4 UUIDs in their canonical text form, and never repeat."""

from __future__ import annotations

import uuid

from tollway.contracts.base import new_event_id


def test_event_ids_are_canonical_uuid4_strings_and_unique() -> None:
    ids = [new_event_id() for _ in range(20_000)]
    parsed = [uuid.UUID(value) for value in ids]
    assert all(str(u) == value for u, value in zip(parsed, ids, strict=True))  # canonical: lower case, dashes
    assert {u.version for u in parsed} == {4}
    assert {u.variant for u in parsed} == {uuid.RFC_4122}
    assert len(set(ids)) == len(ids)
    assert {value[19] for value in ids} == set("89ab")  # every variant digit occurs
