"""HTTP bodies of the coupon routes: ``<Noun>In`` rejects unknown fields; values are integer micro-USD."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from tollway.billing.api.schemas import PositiveMicros, Text
from tollway.billing.domain.coupons import Coupon, CouponDraft, CouponPatch, CouponScope, CouponType, RedemptionRecord
from tollway.billing.domain.money import usd_decimal
from tollway.billing.domain.reports import CouponAnalytics, CouponStats, RedemptionView

Code = Annotated[str, msgspec.Meta(min_length=3, max_length=60)]  # blanks around it are forgiven, then 3-50
Uses = Annotated[int, msgspec.Meta(gt=0, le=10**9)]
UserId = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class CouponIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    code: Code
    value_micros: PositiveMicros
    scope: CouponScope = "global"
    coupon_type: CouponType = "promotional"
    max_uses: Uses | None = None
    assigned_user_id: UserId | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    description: Text = ""

    def draft(self) -> CouponDraft:
        return CouponDraft(**msgspec.structs.asdict(self))


class CouponPatchIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Only these fields may change; anything else in the body is refused (400), not silently dropped."""

    valid_until: datetime | msgspec.UnsetType | None = msgspec.UNSET
    max_uses: Uses | msgspec.UnsetType | None = msgspec.UNSET
    is_active: bool | msgspec.UnsetType = msgspec.UNSET
    description: Text | msgspec.UnsetType = msgspec.UNSET

    def patch(self) -> CouponPatch:
        return CouponPatch(
            valid_until=self.valid_until, max_uses=self.max_uses, is_active=self.is_active, description=self.description
        )


class RedeemIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    code: Code


class CouponOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    code: str
    value_micros: int
    value_usd: str
    scope: str
    coupon_type: str
    max_uses: int | None
    times_used: int
    remaining_uses: int | None
    assigned_user_id: str | None
    valid_from: datetime
    valid_until: datetime | None
    is_active: bool
    description: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    object: str = "coupon"

    @classmethod
    def of(cls, c: Coupon) -> CouponOut:
        fields = {name: getattr(c, name) for name in c.__struct_fields__}
        return cls(**fields, value_usd=usd_decimal(c.value_micros), remaining_uses=c.remaining_uses)


class CouponListOut(msgspec.Struct, frozen=True, kw_only=True):
    data: list[CouponOut]
    has_more: bool
    next_cursor: str | None
    object: str = "list"


class AvailableCouponOut(msgspec.Struct, frozen=True, kw_only=True):
    """What a user sees of a coupon they may redeem (no operator fields)."""

    coupon_id: str
    code: str
    value_micros: int
    value_usd: str
    scope: str
    coupon_type: str
    description: str
    valid_until: datetime | None
    remaining_uses: int | None

    @classmethod
    def of(cls, c: Coupon) -> AvailableCouponOut:
        return cls(
            coupon_id=c.id,
            code=c.code,
            value_micros=c.value_micros,
            value_usd=usd_decimal(c.value_micros),
            scope=c.scope,
            coupon_type=c.coupon_type,
            description=c.description,
            valid_until=c.valid_until,
            remaining_uses=c.remaining_uses,
        )


class AvailableListOut(msgspec.Struct, frozen=True, kw_only=True):
    data: list[AvailableCouponOut]
    object: str = "list"


class RedemptionOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    coupon_id: str
    coupon_code: str
    transaction_id: str
    amount_micros: int
    amount_usd: str
    balance_before_micros: int
    balance_after_micros: int
    redeemed_at: datetime
    object: str = "coupon_redemption"

    @classmethod
    def of(cls, r: RedemptionRecord) -> RedemptionOut:
        return cls(
            id=r.id,
            coupon_id=r.coupon_id,
            coupon_code=r.coupon_code,
            transaction_id=r.transaction_id,
            amount_micros=r.value_micros,
            amount_usd=usd_decimal(r.value_micros),
            balance_before_micros=r.balance_before_micros,
            balance_after_micros=r.balance_after_micros,
            redeemed_at=r.redeemed_at,
        )


class HistoryOut(msgspec.Struct, frozen=True, kw_only=True):
    data: list[RedemptionView]
    total_redemptions: int
    total_value_micros: int
    object: str = "list"


class CouponAnalyticsOut(msgspec.Struct, frozen=True, kw_only=True):
    coupon: CouponOut
    total_redemptions: int
    unique_users: int
    value_distributed_micros: int
    redemption_rate: float | None  # redemptions / max_uses (None without a limit)
    remaining_uses: int | None
    is_expired: bool

    @classmethod
    def of(cls, a: CouponAnalytics, now: datetime) -> CouponAnalyticsOut:
        limit = a.coupon.max_uses
        return cls(
            coupon=CouponOut.of(a.coupon),
            total_redemptions=a.redemptions,
            unique_users=a.unique_users,
            value_distributed_micros=a.value_micros,
            redemption_rate=None if not limit else round(a.redemptions / limit, 4),
            remaining_uses=None if limit is None else max(0, limit - a.redemptions),
            is_expired=a.coupon.is_expired(now),
        )


class CouponStatsOut(msgspec.Struct, frozen=True, kw_only=True):
    total_coupons: int
    active_coupons: int
    by_scope: dict[str, int]
    total_redemptions: int
    unique_redeemers: int
    value_distributed_micros: int
    average_redemption_micros: int  # rounded down

    @classmethod
    def of(cls, s: CouponStats) -> CouponStatsOut:
        average = s.value_distributed_micros // s.total_redemptions if s.total_redemptions else 0
        return cls(**msgspec.structs.asdict(s), average_redemption_micros=average)
