"""Coupons: code rules, scopes, validity windows, edits, and what a redemption must pass (no I/O)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

import msgspec

from tollway.billing.domain.errors import (
    CouponAlreadyRedeemedError,
    CouponNotFoundError,
    CouponRefusedError,
    InvalidInputError,
    LimitExceededError,
)
from tollway.billing.domain.idempotency import fingerprint
from tollway.billing.domain.ids import new_coupon_id
from tollway.billing.domain.ledger import Entry
from tollway.billing.domain.money import usd_label
from tollway.billing.domain.policy import BillingPolicy

CouponScope = Literal["global", "user_specific", "first_purchase"]
CouponType = Literal["promotional", "referral", "compensation", "partnership"]
COUPON_SCOPES: tuple[CouponScope, ...] = ("global", "user_specific", "first_purchase")
# Letters, digits, '-' and '_': anything else is refused, never stripped (two codes must not collide).
_CODE = re.compile(r"^[A-Za-z0-9_-]{3,50}$")


class Coupon(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    code: str
    value_micros: int
    scope: CouponScope
    coupon_type: CouponType
    max_uses: int | None
    times_used: int
    assigned_user_id: str | None
    valid_from: datetime
    valid_until: datetime | None
    is_active: bool
    description: str
    created_by: str
    created_at: datetime
    updated_at: datetime

    @property
    def remaining_uses(self) -> int | None:
        return None if self.max_uses is None else max(0, self.max_uses - self.times_used)

    def is_expired(self, now: datetime) -> bool:
        return self.valid_until is not None and self.valid_until <= now

    def is_open(self, now: datetime) -> bool:
        """Active, inside its validity window and not used up."""
        used_up = self.remaining_uses == 0
        return self.is_active and self.valid_from <= now and not self.is_expired(now) and not used_up


class CouponDraft(msgspec.Struct, frozen=True, kw_only=True):
    """What an operator asked to create (shapes already checked by the HTTP schema)."""

    code: str
    value_micros: int
    scope: CouponScope = "global"
    coupon_type: CouponType = "promotional"
    max_uses: int | None = None
    assigned_user_id: str | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    description: str = ""

    @property
    def fingerprint(self) -> str:
        return fingerprint("coupon", normalize_code(self.code), msgspec.to_builtins(self))


def normalize_code(code: str) -> str:
    """Codes match case-insensitively: stored and compared upper-case; surrounding blanks are forgiven."""
    stripped = code.strip()
    if not _CODE.match(stripped):
        raise InvalidInputError("a coupon code is 3-50 letters, digits, '-' or '_'", "code")
    return stripped.upper()


def new_coupon(draft: CouponDraft, policy: BillingPolicy, admin: str, now: datetime) -> Coupon:
    """A coupon from a draft, refusing drafts whose scope, value or window cannot work."""
    _check_value(draft.value_micros, policy)
    _check_scope(draft)
    valid_from = draft.valid_from or now
    _check_window(valid_from, draft.valid_until)
    return Coupon(
        id=new_coupon_id(),
        code=normalize_code(draft.code),
        value_micros=draft.value_micros,
        scope=draft.scope,
        coupon_type=draft.coupon_type,
        max_uses=created_max_uses(draft),
        times_used=0,
        assigned_user_id=draft.assigned_user_id,
        valid_from=valid_from,
        valid_until=draft.valid_until,
        is_active=True,
        description=draft.description,
        created_by=admin,
        created_at=now,
        updated_at=now,
    )


def _check_value(value_micros: int, policy: BillingPolicy) -> None:
    if value_micros > policy.max_grant_micros:
        raise LimitExceededError(
            f"a coupon is worth at most {usd_label(policy.max_grant_micros)} (the per-grant cap)", "value_micros"
        )


def _check_scope(draft: CouponDraft) -> None:
    if draft.scope == "user_specific":
        if not draft.assigned_user_id:
            raise InvalidInputError("a user_specific coupon needs assigned_user_id", "assigned_user_id")
        if draft.max_uses not in (None, 1):
            raise InvalidInputError("a user_specific coupon has exactly one use", "max_uses")
    elif draft.assigned_user_id is not None:
        raise InvalidInputError(f"a {draft.scope} coupon is not assigned to a user", "assigned_user_id")


def _check_window(valid_from: datetime, valid_until: datetime | None) -> None:
    if valid_until is not None and valid_until <= valid_from:
        raise InvalidInputError("valid_until must be after valid_from", "valid_until")


def created_max_uses(draft: CouponDraft) -> int | None:
    return 1 if draft.scope == "user_specific" else draft.max_uses


class CouponPatch(msgspec.Struct, frozen=True, kw_only=True):
    """The allow-list of what an operator may change; ``UNSET`` leaves a field as it is."""

    valid_until: datetime | msgspec.UnsetType | None = msgspec.UNSET
    max_uses: int | msgspec.UnsetType | None = msgspec.UNSET
    is_active: bool | msgspec.UnsetType = msgspec.UNSET
    description: str | msgspec.UnsetType = msgspec.UNSET


def apply_patch(coupon: Coupon, patch: CouponPatch, now: datetime) -> Coupon:
    changes = {k: v for k, v in msgspec.structs.asdict(patch).items() if v is not msgspec.UNSET}
    if not changes:
        raise InvalidInputError("nothing to update: send valid_until, max_uses, is_active or description")
    updated = msgspec.structs.replace(coupon, **changes, updated_at=now)
    if updated.max_uses is not None and updated.max_uses < coupon.times_used:
        raise InvalidInputError(f"max_uses cannot go below the {coupon.times_used} uses so far", "max_uses")
    if coupon.scope == "user_specific" and updated.max_uses != 1:
        raise InvalidInputError("a user_specific coupon has exactly one use", "max_uses")
    _check_window(updated.valid_from, updated.valid_until)
    return updated


class Redemption(msgspec.Struct, frozen=True, kw_only=True):
    """A user redeeming a code under their Idempotency-Key."""

    code: str
    user_id: str
    idempotency_key: str

    @property
    def fingerprint(self) -> str:
        return fingerprint("redeem", self.user_id, {"code": normalize_code(self.code)})

    @property
    def scoped_key(self) -> str:
        # Users choose their own keys: scoping them per user keeps one user's key from replaying another's answer.
        return f"redeem:{self.user_id}:{self.idempotency_key}"


class Eligibility(msgspec.Struct, frozen=True, kw_only=True):
    """What billing knows about the caller when it decides on a redemption (read under the coupon's lock)."""

    already_redeemed: bool
    has_paid_credit: bool  # a purchase or an earlier coupon: first_purchase coupons are for newcomers


def check_redeemable(coupon: Coupon | None, user_id: str, eligibility: Eligibility, now: datetime) -> Coupon:
    """The coupon if ``user_id`` may redeem it now; the refusal says why (someone else's coupon is 'not found')."""
    if coupon is None or (coupon.scope == "user_specific" and coupon.assigned_user_id != user_id):
        raise CouponNotFoundError
    if eligibility.already_redeemed:
        raise CouponAlreadyRedeemedError
    if not coupon.is_active:
        raise CouponRefusedError("this coupon is no longer active", "coupon_inactive")
    if coupon.valid_from > now:
        raise CouponRefusedError("this coupon is not valid yet", "coupon_not_yet_valid")
    if coupon.is_expired(now):
        raise CouponRefusedError("this coupon has expired", "coupon_expired")
    if coupon.remaining_uses == 0:
        raise CouponRefusedError("this coupon has been used up", "coupon_exhausted")
    if coupon.scope == "first_purchase" and eligibility.has_paid_credit:
        raise CouponRefusedError("this coupon is for accounts that have not bought credit yet", "coupon_not_eligible")
    return coupon


def coupon_reference(coupon_id: str, user_id: str) -> str:
    """Unique per (coupon, user): the ledger itself refuses a second redemption by the same user."""
    return f"coupon:{coupon_id}:{user_id}"


def coupon_entry(coupon: Coupon, user_id: str) -> Entry:
    return Entry(
        type="coupon",
        amount_micros=coupon.value_micros,
        reference=coupon_reference(coupon.id, user_id),
        description=f"coupon {coupon.code}",
        metadata={"coupon_id": coupon.id, "coupon_code": coupon.code},
    )


class RedemptionRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One redemption as stored (and replayed byte for byte to a retry under the same key)."""

    id: str
    coupon_id: str
    coupon_code: str
    user_id: str
    account_id: str
    transaction_id: str
    value_micros: int
    balance_before_micros: int
    balance_after_micros: int
    redeemed_at: datetime
