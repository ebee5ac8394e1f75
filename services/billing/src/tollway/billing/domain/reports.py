"""The shapes of billing's read models: coupon reports, the operator's transaction query, summaries, trials."""

from __future__ import annotations

import base64
import binascii
from datetime import date, datetime
from typing import Literal

import msgspec

from tollway.billing.domain.coupons import Coupon
from tollway.billing.domain.errors import InvalidInputError
from tollway.billing.domain.ledger import TRANSACTION_TYPES, TransactionType

SortKey = Literal["created_at", "amount"]
SortOrder = Literal["asc", "desc"]
ADMIN_MAX_LIMIT = 500
ADMIN_DEFAULT_LIMIT = 50


class CouponPosition(msgspec.Struct, frozen=True, array_like=True):
    created_at: datetime
    id: str


class CouponQuery(msgspec.Struct, frozen=True, kw_only=True):
    limit: int = ADMIN_DEFAULT_LIMIT
    scope: str | None = None
    is_active: bool | None = None
    after: CouponPosition | None = None


class CouponAnalytics(msgspec.Struct, frozen=True, kw_only=True):
    coupon: Coupon
    redemptions: int
    unique_users: int
    value_micros: int


class CouponStats(msgspec.Struct, frozen=True, kw_only=True):
    total_coupons: int
    active_coupons: int
    by_scope: dict[str, int]
    total_redemptions: int
    unique_redeemers: int
    value_distributed_micros: int


class RedemptionView(msgspec.Struct, frozen=True):
    id: str
    coupon_id: str
    coupon_code: str
    coupon_scope: str
    coupon_type: str
    transaction_id: str
    value_micros: int
    balance_before_micros: int
    balance_after_micros: int
    redeemed_at: datetime


class SortPosition(msgspec.Struct, frozen=True, array_like=True):
    """Where a page of the operator's list ended, for the sort it was made with."""

    sort: SortKey
    order: SortOrder
    value: int | datetime
    id: str


class AdminTransactionQuery(msgspec.Struct, frozen=True, kw_only=True):
    limit: int = ADMIN_DEFAULT_LIMIT
    user_id: str | None = None
    type: TransactionType | None = None
    min_amount: int | None = None  # signed micro-USD, inclusive
    max_amount: int | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    sort: SortKey = "created_at"
    order: SortOrder = "desc"
    after: SortPosition | None = None


_cursor_encoder = msgspec.json.Encoder()
_cursor_decoder = msgspec.json.Decoder(SortPosition)
_coupon_cursor = msgspec.json.Decoder(CouponPosition)


def encode_position(position: SortPosition | CouponPosition) -> str:
    return base64.urlsafe_b64encode(_cursor_encoder.encode(position)).decode().rstrip("=")


def coupon_position(cursor: str | None) -> CouponPosition | None:
    if cursor is None:
        return None
    try:
        return _coupon_cursor.decode(_raw(cursor))
    except (msgspec.DecodeError, msgspec.ValidationError):
        raise InvalidInputError("cursor is not one this API returned", "cursor") from None


def _raw(cursor: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raise InvalidInputError("cursor is not one this API returned", "cursor") from None


def check_limit(limit: int, maximum: int = ADMIN_MAX_LIMIT) -> int:
    if not 1 <= limit <= maximum:
        raise InvalidInputError(f"limit must be between 1 and {maximum}", "limit")
    return limit


def check_window(since: datetime | None, until: datetime | None) -> None:
    for name, value in (("from", since), ("to", until)):
        if value is not None and value.tzinfo is None:
            raise InvalidInputError(f"{name} needs a timezone (e.g. 2026-01-31T00:00:00Z)", name)
    if since is not None and until is not None and since >= until:
        raise InvalidInputError("from must be before to", "from")


def admin_query(
    *,
    limit: int,
    user_id: str | None,
    type_: str | None,
    min_amount: int | None,
    max_amount: int | None,
    since: datetime | None,
    until: datetime | None,
    sort: str,
    order: str,
    cursor: str | None,
) -> AdminTransactionQuery:
    """Validate the operator's list parameters, naming the offending one in every error."""
    check_limit(limit)
    check_window(since, until)
    if type_ is not None and type_ not in TRANSACTION_TYPES:
        raise InvalidInputError(f"type must be one of {', '.join(TRANSACTION_TYPES)}", "type")
    if sort not in ("created_at", "amount"):
        raise InvalidInputError("sort must be 'created_at' or 'amount'", "sort")
    if order not in ("asc", "desc"):
        raise InvalidInputError("order must be 'asc' or 'desc'", "order")
    if min_amount is not None and max_amount is not None and min_amount > max_amount:
        raise InvalidInputError("min_amount must not exceed max_amount", "min_amount")
    after = None if cursor is None else _position(cursor, sort, order)
    return AdminTransactionQuery(
        limit=limit,
        user_id=user_id,
        type=next((t for t in TRANSACTION_TYPES if t == type_), None),
        min_amount=min_amount,
        max_amount=max_amount,
        since=since,
        until=until,
        sort="amount" if sort == "amount" else "created_at",
        order="asc" if order == "asc" else "desc",
        after=after,
    )


def _position(cursor: str, sort: str, order: str) -> SortPosition:
    try:
        position = _cursor_decoder.decode(_raw(cursor))
    except (msgspec.DecodeError, msgspec.ValidationError):
        raise InvalidInputError("cursor is not one this API returned", "cursor") from None
    expected_type = int if sort == "amount" else datetime
    if (position.sort, position.order) != (sort, order) or not isinstance(position.value, expected_type):
        raise InvalidInputError("this cursor belongs to a list with another sort or order", "cursor")
    return position


class TypeTotal(msgspec.Struct, frozen=True, kw_only=True):
    count: int
    total_micros: int


class DayTotal(msgspec.Struct, frozen=True, kw_only=True):
    date: date
    credits_micros: int
    debits_micros: int  # negative, like the transactions it sums
    count: int


class LedgerSummary(msgspec.Struct, frozen=True, kw_only=True):
    """Totals over a window: system-wide (``user_id`` None) or for one account."""

    user_id: str | None
    accounts: int
    balance_micros: int  # current: the sum over the accounts in scope
    transactions: int
    credits_micros: int
    debits_micros: int
    by_type: dict[str, TypeTotal]
    by_day: list[DayTotal]
    largest_credit_micros: int
    largest_debit_micros: int


class SpendLine(msgspec.Struct, frozen=True, kw_only=True):
    key: str  # a day (ISO date), a model name or an API key id
    spend_micros: int  # positive: what usage cost
    requests: int


class TrialState(msgspec.Struct, frozen=True, kw_only=True):
    state: Literal["none", "active", "expired"]
    granted_micros: int = 0
    expires_at: datetime | None = None
    expired_micros: int = 0  # unused trial credit taken back at expiry


class UserSummary(msgspec.Struct, frozen=True, kw_only=True):
    user_id: str
    balance_micros: int
    since: datetime
    spend_micros: int
    requests: int
    by_day: list[SpendLine]
    by_model: list[SpendLine]
    by_key: list[SpendLine]
    trial: TrialState


class TrialAnalytics(msgspec.Struct, frozen=True, kw_only=True):
    total: int
    active: int
    expired: int
    converted: int  # trial accounts that later got paid or operator credit (purchase, grant, coupon)
    with_usage: int
    granted_micros: int
    used_micros: int  # usage inside each trial's window, at most its trial credit
    expired_micros: int
    requests: int  # usage transactions inside trial windows
