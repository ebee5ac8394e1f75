"""The user API (``/v1/credits``, ``/v1/coupons``): one's own balance, transactions, spend and coupons."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller, Router, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromQuery, QueryParameter

from tollway.billing import handlers
from tollway.billing.api.coupons import CouponUserController
from tollway.billing.api.dependencies import provide_services, user_of
from tollway.billing.api.errors import EXCEPTION_HANDLERS
from tollway.billing.api.schemas import BalanceOut, TransactionListOut
from tollway.billing.bootstrap import BillingServices
from tollway.billing.domain.pages import DEFAULT_LIMIT, make_query
from tollway.billing.domain.reports import UserSummary
from tollway.platform.http import caller_identity
from tollway.platform.identity import Identity

Services = NamedDependency[BillingServices]
Caller = NamedDependency[Identity]


class CreditsController(Controller):
    path = "/credits"

    @get("/balance")
    async def get_balance(self, identity: Caller, services: Services) -> BalanceOut:
        user_id = user_of(identity)
        return BalanceOut.of(user_id, await handlers.get_balance(user_id, services.ledger))

    @get("/summary")
    async def get_summary(self, identity: Caller, services: Services, days: FromQuery[int] = 30) -> UserSummary:
        s = services
        return await handlers.user_summary(user_of(identity), days, s.ledger, s.reports, s.clock)

    @get("/transactions")
    async def list_transactions(
        self,
        *,
        identity: Caller,
        services: Services,
        limit: FromQuery[int] = DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
        type_: Annotated[str | None, QueryParameter(name="type")] = None,
        since: Annotated[datetime | None, QueryParameter(name="from")] = None,
        until: Annotated[datetime | None, QueryParameter(name="to")] = None,
    ) -> TransactionListOut:
        query = make_query(limit=limit, type_=type_, since=since, until=until, cursor=cursor)
        page = await handlers.list_transactions(user_of(identity), query, services.ledger)
        return TransactionListOut.of(page)


def credits_router() -> Router:
    """A fresh router per app (routers are bound to the app that registers them)."""
    return Router(
        path="/v1",
        route_handlers=[CreditsController, CouponUserController],
        dependencies={
            "services": Provide(provide_services, sync_to_thread=False),
            "identity": Provide(caller_identity, sync_to_thread=False),
        },
        exception_handlers=EXCEPTION_HANDLERS,
    )
