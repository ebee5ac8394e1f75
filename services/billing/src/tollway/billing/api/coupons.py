"""Coupon routes: the operator's CRUD and reports (``/admin/v1/coupons``) and the user's side (``/v1/coupons``)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody, QueryParameter

from tollway.billing import coupons
from tollway.billing.api.coupon_schemas import (
    AvailableCouponOut,
    AvailableListOut,
    CouponAnalyticsOut,
    CouponIn,
    CouponListOut,
    CouponOut,
    CouponPatchIn,
    CouponStatsOut,
    HistoryOut,
    RedeemIn,
    RedemptionOut,
)
from tollway.billing.api.dependencies import actor_of, user_of
from tollway.billing.bootstrap import BillingServices
from tollway.billing.domain.coupons import COUPON_SCOPES, Redemption
from tollway.billing.domain.errors import InvalidInputError
from tollway.billing.domain.idempotency import require_key
from tollway.billing.domain.reports import ADMIN_DEFAULT_LIMIT, CouponQuery, check_limit, coupon_position
from tollway.platform.identity import Identity

Services = NamedDependency[BillingServices]
Caller = NamedDependency[Identity]
IdempotencyKey = Annotated[str | None, HeaderParameter(name="idempotency-key")]


def _replayable(body: object, replayed: bool) -> Response[object]:
    return Response(body, status_code=201, headers={"Idempotent-Replayed": "true"} if replayed else {})


class CouponAdminController(Controller):
    path = "/coupons"

    @post("/")
    async def create_coupon(
        self, *, data: JSONBody[CouponIn], admin: Caller, services: Services, key: IdempotencyKey
    ) -> Response[object]:
        s = services
        coupon, replayed = await coupons.create_coupon(
            data.draft(), require_key(key), actor_of(admin), s.ledger, policy=s.policy, clock=s.clock
        )
        return _replayable(CouponOut.of(coupon), replayed)

    @get("/")
    async def list_coupons(
        self,
        *,
        services: Services,
        limit: FromQuery[int] = ADMIN_DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
        scope_: Annotated[str | None, QueryParameter(name="scope")] = None,
        is_active: FromQuery[bool | None] = None,
    ) -> CouponListOut:
        if scope_ is not None and scope_ not in COUPON_SCOPES:
            raise InvalidInputError(f"scope must be one of {', '.join(COUPON_SCOPES)}", "scope")
        query = CouponQuery(limit=check_limit(limit), scope=scope_, is_active=is_active, after=coupon_position(cursor))
        items, next_cursor = await coupons.list_coupons(query, services.coupons)
        return CouponListOut(
            data=[CouponOut.of(c) for c in items], has_more=next_cursor is not None, next_cursor=next_cursor
        )

    @get("/stats")
    async def coupon_stats(self, services: Services) -> CouponStatsOut:
        return CouponStatsOut.of(await coupons.coupon_stats(services.coupons, services.clock))

    @get("/{coupon_id:str}")
    async def get_coupon(self, coupon_id: FromPath[str], services: Services) -> CouponOut:
        return CouponOut.of(await coupons.get_coupon(coupon_id, services.coupons))

    @get("/{coupon_id:str}/analytics")
    async def coupon_analytics(self, coupon_id: FromPath[str], services: Services) -> CouponAnalyticsOut:
        analytics = await coupons.coupon_analytics(coupon_id, services.coupons)
        return CouponAnalyticsOut.of(analytics, services.clock())

    @patch("/{coupon_id:str}")
    async def update_coupon(
        self, coupon_id: FromPath[str], data: JSONBody[CouponPatchIn], services: Services
    ) -> CouponOut:
        return CouponOut.of(await coupons.update_coupon(coupon_id, data.patch(), services.ledger, services.clock))

    @delete("/{coupon_id:str}", status_code=200)
    async def deactivate_coupon(self, coupon_id: FromPath[str], services: Services) -> CouponOut:
        return CouponOut.of(await coupons.deactivate_coupon(coupon_id, services.ledger, services.clock))


class CouponUserController(Controller):
    path = "/coupons"

    @get("/available")
    async def available(self, identity: Caller, services: Services) -> AvailableListOut:
        available = await coupons.available_coupons(user_of(identity), services.coupons, services.clock)
        return AvailableListOut(data=[AvailableCouponOut.of(c) for c in available])

    @get("/history")
    async def history(self, identity: Caller, services: Services, limit: FromQuery[int] = 50) -> HistoryOut:
        rows, count, value = await coupons.coupon_history(user_of(identity), limit, services.coupons)
        return HistoryOut(data=rows, total_redemptions=count, total_value_micros=value)

    @post("/redeem")
    async def redeem(
        self, *, data: JSONBody[RedeemIn], identity: Caller, services: Services, key: IdempotencyKey
    ) -> Response[object]:
        redemption = Redemption(code=data.code, user_id=user_of(identity), idempotency_key=require_key(key))
        s = services
        record, replayed = await coupons.redeem_coupon(redemption, s.ledger, s.balances, s.policy, s.clock)
        return _replayable(RedemptionOut.of(record), replayed)
