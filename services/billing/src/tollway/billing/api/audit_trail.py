"""``GET /admin/v1/billing/audit``: operators' grants, adjustments, refunds and coupons, filtered, in cursor pages."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from tollway.billing import handlers
from tollway.billing.bootstrap import BillingServices
from tollway.billing.domain.audit_trail import (
    AUDIT_ACTIONS,
    AUDIT_DEFAULT_LIMIT,
    AUDIT_MAX_LIMIT,
    AuditAction,
    AuditEntry,
    AuditPage,
    AuditQuery,
)
from tollway.billing.domain.errors import InvalidInputError
from tollway.billing.domain.money import usd_decimal
from tollway.billing.domain.pages import decode_cursor
from tollway.billing.domain.reports import check_window

Services = NamedDependency[BillingServices]
Param = Annotated[str | None, QueryParameter(required=False)]
AwareTime = Annotated[datetime, msgspec.Meta(tz=True)]
_WHERE = re.compile(r"unknown field `([^`]+)`|at `\$\.(\w+)`")


class AuditQueryIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The query string as given: an unknown name is refused, so a misspelt filter never widens an audit read."""

    user_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    actor: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None
    action: AuditAction | None = None
    since: AwareTime | None = msgspec.field(name="from", default=None)
    until: AwareTime | None = msgspec.field(name="to", default=None)
    limit: Annotated[int, msgspec.Meta(ge=1, le=AUDIT_MAX_LIMIT)] = AUDIT_DEFAULT_LIMIT
    cursor: Annotated[str, msgspec.Meta(max_length=500)] | None = None

    def query(self) -> AuditQuery:
        check_window(self.since, self.until)
        after = None if self.cursor is None else decode_cursor(self.cursor)
        return AuditQuery(
            limit=self.limit,
            user_id=self.user_id,
            actor=self.actor,
            action=self.action,
            since=self.since,
            until=self.until,
            after=after,
        )


class AuditEntryOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    at: datetime
    action: str
    actor: str
    user_id: str | None
    amount_micros: int | None
    amount_usd: str | None
    description: str
    detail: dict[str, Any]
    object: str = "billing_audit_entry"

    @classmethod
    def of(cls, e: AuditEntry) -> AuditEntryOut:
        amount = None if e.amount_micros is None else usd_decimal(e.amount_micros)
        return cls(
            id=e.id, at=e.at, action=e.action, actor=e.actor, user_id=e.user_id, amount_micros=e.amount_micros,
            amount_usd=amount, description=e.description, detail=e.detail,
        )  # fmt: skip


class AuditListOut(msgspec.Struct, frozen=True, kw_only=True):
    data: list[AuditEntryOut]
    has_more: bool
    next_cursor: str | None
    object: str = "list"

    @classmethod
    def of(cls, page: AuditPage) -> AuditListOut:
        data = [AuditEntryOut.of(e) for e in page.items]
        return cls(data=data, has_more=page.next_cursor is not None, next_cursor=page.next_cursor)


def parsed_query(given: dict[str, str]) -> AuditQuery:
    """The validated query; a bad value or an unknown name is a 400 naming the parameter."""
    try:
        raw = msgspec.convert({k: v for k, v in given.items() if v != ""}, AuditQueryIn, strict=False)
    except msgspec.ValidationError as exc:
        named = _WHERE.search(str(exc))
        param = (named[1] or named[2]) if named else None
        raise InvalidInputError(f"invalid query: {exc}", param) from None
    return raw.query()


class BillingAuditController(Controller):
    path = "/billing/audit"

    @get("/")
    async def list_entries(
        self,
        *,
        request: Request[Any, Any, Any],
        services: Services,
        user_id: Param = None,
        actor: Param = None,
        action: Annotated[str | None, QueryParameter(required=False, description=" | ".join(AUDIT_ACTIONS))] = None,
        since: Annotated[str | None, QueryParameter(name="from", required=False)] = None,
        until: Annotated[str | None, QueryParameter(name="to", required=False)] = None,
        limit: Param = None,
        cursor: Param = None,
    ) -> AuditListOut:
        # The named parameters document the route; the Struct validates the whole query string, unknown names too.
        query = parsed_query(dict(request.query_params.items()))
        return AuditListOut.of(await handlers.list_audit_entries(query, services.audit_trail))
