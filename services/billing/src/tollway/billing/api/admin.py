"""The operator API (``/admin/v1``): grants, adjustments (with Idempotency-Key) and refunds."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, Router, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, HeaderParameter, JSONBody

from tollway.billing import handlers
from tollway.billing.api.dependencies import actor_of, provide_services
from tollway.billing.api.errors import EXCEPTION_HANDLERS
from tollway.billing.api.schemas import AdjustmentIn, GrantIn, RefundIn, TransactionOut
from tollway.billing.bootstrap import BillingServices
from tollway.billing.domain.admin import AdminCredit, AdminCreditKind, RefundRequest
from tollway.billing.domain.idempotency import require_key
from tollway.billing.domain.ledger import Posting
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

    @post("/{transaction_id:str}/refund")
    async def refund(
        self, transaction_id: FromPath[str], admin: Admin, services: Services, data: JSONBody[RefundIn | None] = None
    ) -> Response[TransactionOut]:
        body = data or RefundIn()
        request = RefundRequest(
            transaction_id=transaction_id, amount_micros=body.amount_micros, reason=body.reason, admin=actor_of(admin)
        )
        s = services
        return created(await handlers.refund_usage(request, s.ledger, s.balances, s.policy, s.clock))


def admin_router() -> Router:
    """A fresh router per app; every route needs an admin identity signed by the gateway."""
    return Router(
        path="/admin/v1",
        route_handlers=[AccountAdminController, TransactionAdminController],
        dependencies={
            "services": Provide(provide_services, sync_to_thread=False),
            "admin": Provide(admin_identity, sync_to_thread=False),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        include_in_schema=False,
    )
