"""Coupon use cases: create, change, deactivate and redeem coupons, and what operators and users read of them."""

from __future__ import annotations

import msgspec

from tollway.billing.domain import idempotency
from tollway.billing.domain.coupons import (
    Coupon,
    CouponDraft,
    CouponPatch,
    Eligibility,
    Redemption,
    RedemptionRecord,
    apply_patch,
    check_redeemable,
    coupon_entry,
    new_coupon,
    normalize_code,
)
from tollway.billing.domain.errors import CouponNotFoundError
from tollway.billing.domain.policy import BillingPolicy
from tollway.billing.domain.reports import (
    CouponAnalytics,
    CouponPosition,
    CouponQuery,
    CouponStats,
    RedemptionView,
    check_limit,
    encode_position,
)
from tollway.billing.handlers import apply_entries
from tollway.billing.ports import BalanceSink, Clock, CouponLedger, CouponReads
from tollway.contracts import CouponRedeemedV1

_json = msgspec.json.Encoder()
_redemption_decoder = msgspec.json.Decoder(RedemptionRecord)
_coupon_decoder = msgspec.json.Decoder(Coupon)
NOT_SEEN = Eligibility(already_redeemed=False, has_paid_credit=False)


async def create_coupon(
    draft: CouponDraft, key: str, admin_id: str, ledger: CouponLedger, *, policy: BillingPolicy, clock: Clock
) -> tuple[Coupon, bool]:
    """A new coupon once per Idempotency-Key; a code already taken is a conflict."""
    coupon, fp, scoped = new_coupon(draft, policy, admin_id, clock()), draft.fingerprint, f"coupon:{key}"
    async with ledger.session() as s:
        stored = await s.claim_key(scoped, fp)
        if stored is not None:
            return _coupon_decoder.decode(idempotency.replay(stored, fp)), True
        await s.insert_coupon(coupon)
        await s.store_response(scoped, _json.encode(coupon))
        await s.commit()
    return coupon, False


async def update_coupon(coupon_id: str, patch: CouponPatch, ledger: CouponLedger, clock: Clock) -> Coupon:
    """Change the allow-listed fields under the coupon's lock (so max_uses never drops below the uses)."""
    async with ledger.session() as s:
        coupon = await s.lock_coupon(coupon_id)
        if coupon is None:
            raise CouponNotFoundError("coupon_id")
        updated = apply_patch(coupon, patch, clock())
        await s.update_coupon(updated)
        await s.commit()
    return updated


async def deactivate_coupon(coupon_id: str, ledger: CouponLedger, clock: Clock) -> Coupon:
    """DELETE deactivates: the coupon and its redemptions stay for the ledger's history; repeating it is a no-op."""
    async with ledger.session() as s:
        coupon = await s.lock_coupon(coupon_id)
        if coupon is None:
            raise CouponNotFoundError("coupon_id")
        if not coupon.is_active:
            return coupon
        updated = msgspec.structs.replace(coupon, is_active=False, updated_at=clock())
        await s.update_coupon(updated)
        await s.commit()
    return updated


async def redeem_coupon(
    redemption: Redemption, ledger: CouponLedger, sink: BalanceSink, policy: BillingPolicy, clock: Clock
) -> tuple[RedemptionRecord, bool]:
    """Check and credit in one transaction under the coupon's row lock: uses never exceed max_uses."""
    code, key, fp = normalize_code(redemption.code), redemption.scoped_key, redemption.fingerprint
    async with ledger.session() as s:
        stored = await s.claim_key(key, fp)
        if stored is not None:
            return _redemption_decoder.decode(idempotency.replay(stored, fp)), True
        coupon = await s.lock_coupon_by_code(code)
        seen = NOT_SEEN if coupon is None else await s.coupon_eligibility(coupon.id, redemption.user_id)
        coupon = check_redeemable(coupon, redemption.user_id, seen, clock())
        accounts = await s.lock_accounts([redemption.user_id])
        settlement = await apply_entries(
            s, accounts, [(redemption.user_id, coupon_entry(coupon, redemption.user_id))], policy, clock
        )
        record = await s.record_redemption(coupon, settlement.postings[0])
        await s.stage([_redeemed_event(record)])
        await s.store_response(key, _json.encode(record))
        await s.commit()
    await sink.publish(settlement.snapshots())
    return record, False


def _redeemed_event(record: RedemptionRecord) -> CouponRedeemedV1:
    return CouponRedeemedV1(
        coupon_id=record.coupon_id,
        coupon_code=record.coupon_code,
        redemption_id=record.id,
        account_id=record.account_id,
        user_id=record.user_id,
        transaction_id=record.transaction_id,
        value_micros=record.value_micros,
        balance_after_micros=record.balance_after_micros,
    )


async def list_coupons(query: CouponQuery, reads: CouponReads) -> tuple[list[Coupon], str | None]:
    rows = await reads.list_coupons(query)
    items = rows[: query.limit]
    more = len(rows) > query.limit and items
    return items, encode_position(CouponPosition(items[-1].created_at, items[-1].id)) if more else None


async def get_coupon(coupon_id: str, reads: CouponReads) -> Coupon:
    coupon = await reads.get_coupon(coupon_id)
    if coupon is None:
        raise CouponNotFoundError("coupon_id")
    return coupon


async def coupon_analytics(coupon_id: str, reads: CouponReads) -> CouponAnalytics:
    analytics = await reads.analytics(coupon_id)
    if analytics is None:
        raise CouponNotFoundError("coupon_id")
    return analytics


async def coupon_stats(reads: CouponReads, clock: Clock) -> CouponStats:
    return await reads.stats(clock())


async def available_coupons(user_id: str, reads: CouponReads, clock: Clock, limit: int = 100) -> list[Coupon]:
    return await reads.available_to(user_id, clock(), limit)


async def coupon_history(user_id: str, limit: int, reads: CouponReads) -> tuple[list[RedemptionView], int, int]:
    return await reads.history(user_id, check_limit(limit, 100))
