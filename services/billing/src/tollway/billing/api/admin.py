"""The operator API (``/admin/v1``): credit, refunds, coupons, the whole ledger's list, summaries, statements."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller, Response, Router, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody, QueryParameter

from tollway.billing import handlers
from tollway.billing.api.audit_trail import BillingAuditController
from tollway.billing.api.coupons import CouponAdminController
from tollway.billing.api.dependencies import actor_of, provide_services
from tollway.billing.api.errors import EXCEPTION_HANDLERS
from tollway.billing.api.schemas import (
    AdjustmentIn,
    AdminTransactionListOut,
    AdminTransactionOut,
    BulkGrantIn,
    GrantIn,
    RefundIn,
    StatementOut,
    TransactionOut,
    TrialAnalyticsOut,
)
from tollway.billing.bootstrap import BillingServices
from tollway.billing.domain.admin import AdminCredit, AdminCreditKind, BulkGrant, BulkResult, RefundRequest
from tollway.billing.domain.errors import InvalidInputError
from tollway.billing.domain.idempotency import require_key
from tollway.billing.domain.ledger import Posting
from tollway.billing.domain.reports import ADMIN_DEFAULT_LIMIT, LedgerSummary, admin_query
from tollway.billing.domain.statements import statement_csv
from tollway.platform.http import admin_identity
from tollway.platform.identity import Identity

Services = NamedDependency[BillingServices]
Admin = NamedDependency[Identity]
IdempotencyKey = Annotated[str | None, HeaderParameter(name="idempotency-key")]


def created(posting: Posting, replayed: bool = False) -> Response[TransactionOut]:
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    return Response(TransactionOut.of(posting), status_code=201, headers=headers)


async def _credit(
    *,
    kind: AdminCreditKind,
    user_id: str,
    amount: int,
    description: str,
    key: str | None,
    admin: Identity,
    s: BillingServices,
) -> Response[TransactionOut]:
    credit = AdminCredit(
        kind=kind,
        user_id=user_id,
        amount_micros=amount,
        description=description,
        idempotency_key=require_key(key),
        admin=actor_of(admin),
    )
    posting, replayed = await handlers.credit_account(credit, s.ledger, s.balances, s.policy, s.clock)
    return created(posting, replayed)


class AccountAdminController(Controller):
    path = "/accounts"

    @post("/{user_id:str}/grants")
    async def grant(
        self, *, user_id: FromPath[str], data: JSONBody[GrantIn], admin: Admin, services: Services, key: IdempotencyKey
    ) -> Response[TransactionOut]:
        return await _credit(
            kind="grant",
            user_id=user_id,
            amount=data.amount_micros,
            description=data.description,
            key=key,
            admin=admin,
            s=services,
        )

    @post("/{user_id:str}/adjustments")
    async def adjust(
        self,
        *,
        user_id: FromPath[str],
        data: JSONBody[AdjustmentIn],
        admin: Admin,
        services: Services,
        key: IdempotencyKey,
    ) -> Response[TransactionOut]:
        return await _credit(
            kind="adjustment",
            user_id=user_id,
            amount=data.amount_micros,
            description=data.description,
            key=key,
            admin=admin,
            s=services,
        )


class TransactionAdminController(Controller):
    path = "/transactions"

    @get("/")
    async def list_transactions(
        self,
        *,
        services: Services,
        limit: FromQuery[int] = ADMIN_DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
        user_id: FromQuery[str | None] = None,
        type_: Annotated[str | None, QueryParameter(name="type")] = None,
        min_amount: FromQuery[int | None] = None,
        max_amount: FromQuery[int | None] = None,
        since: Annotated[datetime | None, QueryParameter(name="from")] = None,
        until: Annotated[datetime | None, QueryParameter(name="to")] = None,
        sort: FromQuery[str] = "created_at",
        order: FromQuery[str] = "desc",
    ) -> AdminTransactionListOut:
        query = admin_query(
            limit=limit, user_id=user_id, type_=type_, min_amount=min_amount, max_amount=max_amount,
            since=since, until=until, sort=sort, order=order, cursor=cursor,
        )  # fmt: skip
        items, next_cursor = await handlers.list_all_transactions(query, services.reports)
        return AdminTransactionListOut(
            data=[AdminTransactionOut.of(p) for p in items], has_more=next_cursor is not None, next_cursor=next_cursor
        )

    @post("/{transaction_id:str}/refund")
    async def refund(
        self,
        *,
        transaction_id: FromPath[str],
        admin: Admin,
        services: Services,
        key: IdempotencyKey,
        data: JSONBody[RefundIn | None] = None,
    ) -> Response[TransactionOut]:
        body = data or RefundIn()
        request = RefundRequest(
            transaction_id=transaction_id,
            amount_micros=body.amount_micros,
            reason=body.reason,
            admin=actor_of(admin),
            idempotency_key=None if key is None else require_key(key),
        )
        s = services
        return created(*await handlers.refund_usage(request, s.ledger, s.balances, s.policy, s.clock))


class GrantAdminController(Controller):
    path = "/grants"

    @post("/bulk")
    async def bulk(
        self, *, data: JSONBody[BulkGrantIn], admin: Admin, services: Services, key: IdempotencyKey
    ) -> Response[BulkResult]:
        bulk = BulkGrant(
            user_ids=data.user_ids,
            amount_micros=data.amount_micros,
            description=data.description,
            idempotency_key=require_key(key),
            admin=actor_of(admin),
        )
        s = services
        result, replayed = await handlers.grant_bulk(bulk, s.ledger, s.balances, s.policy, s.clock)
        return Response(result, status_code=201, headers={"Idempotent-Replayed": "true"} if replayed else {})


class ReportAdminController(Controller):
    path = "/"

    @get("/credits/summary")
    async def credits_summary(
        self,
        *,
        services: Services,
        user_id: FromQuery[str | None] = None,
        since: Annotated[datetime | None, QueryParameter(name="from")] = None,
        until: Annotated[datetime | None, QueryParameter(name="to")] = None,
    ) -> LedgerSummary:
        return await handlers.credits_summary(user_id, since, until, services.reports)

    @get("/trials/analytics")
    async def trial_analytics(
        self,
        *,
        services: Services,
        since: Annotated[datetime | None, QueryParameter(name="from")] = None,
        until: Annotated[datetime | None, QueryParameter(name="to")] = None,
    ) -> TrialAnalyticsOut:
        return TrialAnalyticsOut.of(await handlers.trial_analytics(since, until, services.reports, services.clock))

    @get("/accounts/{user_id:str}/statement")
    async def statement(
        self,
        *,
        user_id: FromPath[str],
        services: Services,
        month: FromQuery[str],
        format_: Annotated[str, QueryParameter(name="format")] = "json",
    ) -> Response[object]:
        if format_ not in ("json", "csv"):
            raise InvalidInputError("format must be 'json' or 'csv'", "format")
        found = await handlers.account_statement(user_id, month, services.ledger, services.reports)
        if format_ == "csv":
            filename = f"statement-{user_id}-{month}.csv"
            headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
            return Response(statement_csv(found), media_type="text/csv; charset=utf-8", headers=headers)
        return Response(StatementOut.of(found))


def admin_router() -> Router:
    """A fresh router per app; every route needs an admin identity signed by the gateway."""
    return Router(
        path="/admin/v1",
        route_handlers=[
            AccountAdminController,
            TransactionAdminController,
            GrantAdminController,
            ReportAdminController,
            CouponAdminController,
            BillingAuditController,
        ],
        dependencies={
            "services": Provide(provide_services, sync_to_thread=False),
            "admin": Provide(admin_identity, sync_to_thread=False),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        include_in_schema=False,
    )
