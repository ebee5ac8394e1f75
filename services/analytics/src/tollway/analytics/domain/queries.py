"""Usage queries: who and what to count, over which UTC days, validated before any SQL runs."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

import msgspec

DEFAULT_RANGE_DAYS = 7
MAX_RANGE_DAYS = 93
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100

GroupBy = Literal["hour", "day", "model", "provider"]


class InvalidQueryError(Exception):
    """A query parameter the caller must fix; ``param`` names it (the API answers 422)."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param
        self.message = message


class UsageFilters(msgspec.Struct, frozen=True, kw_only=True):
    """Rows counted: ``start <= occurred_at < end`` and every filter that is not ``None``."""

    start: datetime
    end: datetime
    user_id: str | None = None
    api_key_id: str | None = None
    model: str | None = None
    provider: str | None = None
    is_fallback: bool | None = None
    status: str | None = None  # request rows only: rollups count failures and cancellations instead


class Period(msgspec.Struct, frozen=True):
    """Whole UTC days, both ends included."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(), UTC)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(), UTC)


def period(first: date | None, last: date | None, today: date) -> Period:
    """``first``..``last``; ``last`` defaults to ``today`` and ``first`` to 7 days ending at ``last``.

    At most 93 days (a bounded scan; the earlier system's unbounded ones were the bug), never reversed.
    """
    last = last or today
    first = first or last - timedelta(days=DEFAULT_RANGE_DAYS - 1)
    if first > last:
        raise InvalidQueryError("from", f"`from` ({first}) is after `to` ({last})")
    days = (last - first).days + 1
    if days > MAX_RANGE_DAYS:
        raise InvalidQueryError("to", f"the range covers {days} days; at most {MAX_RANGE_DAYS} are allowed")
    return Period(first, last)


class Cursor(msgspec.Struct, frozen=True, array_like=True):
    """Where a page of requests ended: rows strictly older than (occurred_at, request_id) come next."""

    occurred_at: datetime
    request_id: str


_cursor_decoder = msgspec.json.Decoder(Cursor)


def encode_cursor(cursor: Cursor) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(cursor)).decode().rstrip("=")


def decode_cursor(token: str) -> Cursor:
    """The cursor in an opaque ``next_cursor`` token; ``InvalidQueryError`` when it was not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        cursor = _cursor_decoder.decode(raw)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise InvalidQueryError("cursor", "`cursor` is not a cursor returned by this API") from None
    if cursor.occurred_at.tzinfo is None:
        raise InvalidQueryError("cursor", "`cursor` is not a cursor returned by this API")
    return cursor
