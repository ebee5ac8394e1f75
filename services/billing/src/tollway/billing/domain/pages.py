"""Listing transactions newest first with an opaque cursor over ``(created_at, id)`` and bounded pages."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from datetime import datetime

import msgspec

from tollway.billing.domain.errors import InvalidInputError
from tollway.billing.domain.ledger import TRANSACTION_TYPES, Posting, TransactionType

MAX_LIMIT = 100
DEFAULT_LIMIT = 20


class Position(msgspec.Struct, frozen=True, array_like=True):
    """The last item of a page; the next page starts strictly after it."""

    created_at: datetime
    id: str


class TransactionQuery(msgspec.Struct, frozen=True, kw_only=True):
    limit: int = DEFAULT_LIMIT
    type: TransactionType | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    after: Position | None = None


class Page(msgspec.Struct, frozen=True):
    items: list[Posting]
    next_cursor: str | None


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Position)


def encode_cursor(position: Position) -> str:
    return base64.urlsafe_b64encode(_encoder.encode(position)).decode().rstrip("=")


def decode_cursor(cursor: str) -> Position:
    try:
        return _decoder.decode(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise InvalidInputError("cursor is not one this API returned", "cursor") from None


def make_query(
    *, limit: int, type_: str | None, since: datetime | None, until: datetime | None, cursor: str | None
) -> TransactionQuery:
    """Validate list parameters once, with the parameter named in every error."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInputError(f"limit must be between 1 and {MAX_LIMIT}", "limit")
    if type_ is not None and type_ not in TRANSACTION_TYPES:
        raise InvalidInputError(f"type must be one of {', '.join(TRANSACTION_TYPES)}", "type")
    for name, value in (("from", since), ("to", until)):
        if value is not None and value.tzinfo is None:
            raise InvalidInputError(f"{name} needs a timezone (e.g. 2026-01-31T00:00:00Z)", name)
    if since is not None and until is not None and since >= until:
        raise InvalidInputError("from must be before to", "from")
    after = None if cursor is None else decode_cursor(cursor)
    kind: TransactionType | None = next((t for t in TRANSACTION_TYPES if t == type_), None)
    return TransactionQuery(limit=limit, type=kind, since=since, until=until, after=after)


def page_of(rows: Sequence[Posting], limit: int) -> Page:
    """``rows`` holds up to ``limit + 1`` items: the extra one only says whether a next page exists."""
    items = list(rows[:limit])
    more = len(rows) > limit and items
    return Page(items, encode_cursor(Position(items[-1].created_at, items[-1].id)) if more else None)
