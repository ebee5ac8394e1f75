"""``/admin/v1/provider-usage/import`` and ``/admin/v1/reconciliation``: provider-reported usage against ours."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, Router, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import QueryParameter

from tollway.analytics import handlers
from tollway.analytics.api.errors import EXCEPTION_HANDLERS
from tollway.analytics.api.usage import require_admin
from tollway.analytics.bootstrap import UsageImporters, provide_importers, provide_provider_usage
from tollway.analytics.domain.provider_usage import ImportResult, ReconciliationLine
from tollway.analytics.domain.queries import InvalidQueryError
from tollway.analytics.ports import ProviderUsageStore
from tollway.analytics.provider_usage_importers import ProviderUsageError
from tollway.platform.http import error_response

Store = NamedDependency[ProviderUsageStore]
Importers = NamedDependency[UsageImporters]
From = Annotated[str | None, QueryParameter(name="from", required=False, description="first UTC day, YYYY-MM-DD")]
To = Annotated[str | None, QueryParameter(name="to", required=False, description="last UTC day (included)")]
MAX_DAYS = 93


class ReconciliationOut(msgspec.Struct, frozen=True, kw_only=True):
    object: str = "reconciliation"
    start: date = msgspec.field(name="from")
    end: date = msgspec.field(name="to")
    tolerance_bps: int
    drifted: int
    new_drift_events: int
    data: list[ReconciliationLine]


def _day(name: str, value: str | None, default: date) -> date:
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidQueryError(name, f"invalid `{name}`: expected YYYY-MM-DD") from None


def _window(start: date | None, end: date) -> None:
    if start is not None and (start > end or (end - start).days >= MAX_DAYS):
        raise InvalidQueryError("from", f"`from` must be at most {MAX_DAYS} days before `to`, and not after it")


def _yesterday() -> date:
    return datetime.now(UTC).date() - timedelta(days=1)


class ProviderUsageController(Controller):
    path = "/admin/v1"
    guards = [require_admin]  # noqa: RUF012 - Litestar reads these class attributes

    @post("/provider-usage/import", status_code=200)
    async def import_usage(
        self,
        store: Store,
        importers: Importers,
        provider: Annotated[str, QueryParameter(description="anthropic | openai")],
        date_from: From = None,
        date_to: To = None,
    ) -> ImportResult:
        importer = importers.get(provider)
        if importer is None:
            raise InvalidQueryError("provider", f"no admin key is configured for provider `{provider}`")
        end = _day("to", date_to, _yesterday())
        start = _day("from", date_from, end) if date_from else None
        _window(start, end)
        return await handlers.import_provider_usage(importer, store, start, end)

    @get("/reconciliation")
    async def reconciliation(self, store: Store, date_from: From = None, date_to: To = None) -> ReconciliationOut:
        end = _day("to", date_to, _yesterday())
        start = _day("from", date_from, end - timedelta(days=6))
        _window(start, end)
        lines, new = await handlers.reconciliation(store, start, end)
        drifted = sum(line.drifted for line in lines)
        return ReconciliationOut(
            start=start, end=end, tolerance_bps=200, drifted=drifted, new_drift_events=new, data=lines
        )


def on_provider_error(request: Request[Any, Any, Any], exc: ProviderUsageError) -> Response[dict[str, Any]]:
    # The provider's admin API failed (bad key, outage, rate limit): a gateway error, and nothing was half-written
    # beyond the chunks already committed, from which the next import resumes.
    return error_response(502, f"{exc}; retry later", param="provider")


def provider_usage_router() -> Router:
    return Router(
        path="/",
        route_handlers=[ProviderUsageController],
        dependencies={
            "store": Provide(provide_provider_usage, sync_to_thread=False),
            "importers": Provide(provide_importers, sync_to_thread=False),
        },
        exception_handlers={**EXCEPTION_HANDLERS, ProviderUsageError: on_provider_error},
    )
