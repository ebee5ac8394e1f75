"""Coupons in SQL: the row locks and writes of a redemption, and the operator's and user's coupon reads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import Exists, Row, and_, exists, func, or_, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tollway.billing.db.tables import accounts, coupon_redemptions, coupons, transactions
from tollway.billing.domain.coupons import Coupon, Eligibility, RedemptionRecord
from tollway.billing.domain.errors import CouponCodeTakenError
from tollway.billing.domain.ids import new_redemption_id
from tollway.billing.domain.ledger import Posting
from tollway.billing.domain.reports import CouponAnalytics, CouponQuery, CouponStats, RedemptionView

c, r = coupons.c, coupon_redemptions.c
COUPON_COLUMNS = (
    c.id, c.code, c.value_micros, c.scope, c.coupon_type, c.max_uses, c.times_used, c.assigned_user_id,
    c.valid_from, c.valid_until, c.is_active, c.description, c.created_by, c.created_at, c.updated_at,
)  # fmt: skip
_EDITABLE = ("valid_until", "max_uses", "is_active", "description", "updated_at")


def coupon_of(row: Row[*tuple[Any, ...]]) -> Coupon:
    return Coupon(**{column.name: row._mapping[column.name] for column in COUPON_COLUMNS})


async def insert_coupon(conn: AsyncConnection, coupon: Coupon) -> None:
    values = {column.name: getattr(coupon, column.name) for column in COUPON_COLUMNS}
    try:
        async with conn.begin_nested():
            await conn.execute(coupons.insert().values(**values))
    except IntegrityError as exc:
        if "uq_coupons_code" in str(exc.orig):
            raise CouponCodeTakenError(coupon.code) from None
        raise


async def lock_coupon(conn: AsyncConnection, *, coupon_id: str | None = None, code: str | None = None) -> Coupon | None:
    """The coupon's row, locked until commit: every redemption of one coupon runs one after the other."""
    condition = c.id == coupon_id if coupon_id is not None else c.code == code
    row = (await conn.execute(select(*COUPON_COLUMNS).where(condition).with_for_update())).first()
    return None if row is None else coupon_of(row)


async def update_coupon(conn: AsyncConnection, coupon: Coupon) -> None:
    values = {name: getattr(coupon, name) for name in _EDITABLE}
    await conn.execute(coupons.update().where(c.id == coupon.id).values(**values))


def _paid_credit(user_id: str) -> Exists:
    """The user's account holds a purchase or a coupon: first_purchase coupons are for newcomers only."""
    t, a = transactions.c, accounts.c
    return (
        exists()
        .select_from(transactions.join(accounts))
        .where(a.user_id == user_id, t.type.in_(("purchase", "coupon")))
    )


async def eligibility(conn: AsyncConnection, coupon_id: str, user_id: str) -> Eligibility:
    redeemed = exists().where(r.coupon_id == coupon_id, r.user_id == user_id)
    paid = _paid_credit(user_id)
    row = (await conn.execute(select(redeemed.label("redeemed"), paid.label("paid")))).one()
    return Eligibility(already_redeemed=bool(row.redeemed), has_paid_credit=bool(row.paid))


async def record_redemption(conn: AsyncConnection, coupon: Coupon, posting: Posting) -> RedemptionRecord:
    record = RedemptionRecord(
        id=new_redemption_id(),
        coupon_id=coupon.id,
        coupon_code=coupon.code,
        user_id=posting.user_id,
        account_id=posting.account_id,
        transaction_id=posting.id,
        value_micros=posting.amount_micros,
        balance_before_micros=posting.balance_before_micros,
        balance_after_micros=posting.balance_after_micros,
        redeemed_at=posting.created_at,
    )
    values = msgspec.structs.asdict(record)
    values.pop("coupon_code")  # the coupon's, joined on read
    await conn.execute(coupon_redemptions.insert().values(**values))
    await conn.execute(coupons.update().where(c.id == coupon.id).values(times_used=c.times_used + 1))
    return record


class SqlAlchemyCoupons:
    """Reads for the coupon routes; pages are bounded, aggregates are computed by Postgres."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def list_coupons(self, query: CouponQuery) -> list[Coupon]:
        statement = select(*COUPON_COLUMNS)
        if query.scope is not None:
            statement = statement.where(c.scope == query.scope)
        if query.is_active is not None:
            statement = statement.where(c.is_active == query.is_active)
        if query.after is not None:
            statement = statement.where(tuple_(c.created_at, c.id) < tuple_(query.after.created_at, query.after.id))
        statement = statement.order_by(c.created_at.desc(), c.id.desc()).limit(query.limit + 1)
        async with self._engine.connect() as conn:
            return [coupon_of(row) for row in await conn.execute(statement)]

    async def get_coupon(self, coupon_id: str) -> Coupon | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(*COUPON_COLUMNS).where(c.id == coupon_id))).first()
        return None if row is None else coupon_of(row)

    async def analytics(self, coupon_id: str) -> CouponAnalytics | None:
        coupon = await self.get_coupon(coupon_id)
        if coupon is None:
            return None
        statement = select(
            func.count(), func.count(func.distinct(r.user_id)), func.coalesce(func.sum(r.value_micros), 0)
        ).where(r.coupon_id == coupon_id)
        async with self._engine.connect() as conn:
            count, users, value = (await conn.execute(statement)).one()
        return CouponAnalytics(coupon=coupon, redemptions=count, unique_users=users, value_micros=int(value))

    async def stats(self, now: datetime) -> CouponStats:
        open_now = and_(c.is_active, c.valid_from <= now, or_(c.valid_until.is_(None), c.valid_until > now))
        coupon_counts = select(
            func.count(),
            func.count().filter(open_now),
            func.count().filter(c.scope == "user_specific"),
            func.count().filter(c.scope == "global"),
            func.count().filter(c.scope == "first_purchase"),
        )
        redemption_counts = select(
            func.count(), func.count(func.distinct(r.user_id)), func.coalesce(func.sum(r.value_micros), 0)
        )
        async with self._engine.connect() as conn:
            total, active, user_specific, global_, first = (await conn.execute(coupon_counts)).one()
            redemptions, redeemers, value = (await conn.execute(redemption_counts)).one()
        return CouponStats(
            total_coupons=total,
            active_coupons=active,
            by_scope={"user_specific": user_specific, "global": global_, "first_purchase": first},
            total_redemptions=redemptions,
            unique_redeemers=redeemers,
            value_distributed_micros=int(value),
        )

    async def available_to(self, user_id: str, now: datetime, limit: int) -> list[Coupon]:
        """Open coupons this user may still redeem: assigned to them, or global/first-purchase, not redeemed."""
        mine = or_(c.assigned_user_id == user_id, c.scope.in_(("global", "first_purchase")))
        redeemed = exists().where(r.coupon_id == c.id, r.user_id == user_id)
        newcomer = or_(c.scope != "first_purchase", ~_paid_credit(user_id))
        statement = (
            select(*COUPON_COLUMNS)
            .where(mine, ~redeemed, newcomer, c.is_active, c.valid_from <= now)
            .where(or_(c.valid_until.is_(None), c.valid_until > now))
            .where(or_(c.max_uses.is_(None), c.times_used < c.max_uses))
            .order_by(c.valid_until.asc().nulls_last(), c.id)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            return [coupon_of(row) for row in await conn.execute(statement)]

    async def history(self, user_id: str, limit: int) -> tuple[list[RedemptionView], int, int]:
        """The user's newest redemptions, plus their count and total value over all time."""
        statement = (
            select(
                r.id,
                r.coupon_id,
                c.code.label("coupon_code"),
                c.scope.label("coupon_scope"),
                c.coupon_type,
                r.transaction_id,
                r.value_micros,
                r.balance_before_micros,
                r.balance_after_micros,
                r.redeemed_at,
            )
            .join(coupons, c.id == r.coupon_id)
            .where(r.user_id == user_id)
            .order_by(r.redeemed_at.desc(), r.id.desc())
            .limit(limit)
        )
        totals = select(func.count(), func.coalesce(func.sum(r.value_micros), 0)).where(r.user_id == user_id)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(statement)).all()
            count, value = (await conn.execute(totals)).one()
        return [RedemptionView(**row._mapping) for row in rows], int(count), int(value)
