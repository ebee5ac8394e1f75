"""Query parameters: declared once per route (so OpenAPI lists them), validated into ``<Noun>In`` Structs."""

from __future__ import annotations

import re
from typing import Annotated, TypeVar

import msgspec
from litestar.params import QueryParameter

from tollway.analytics.api.schemas import AdminUsageQueryIn, RequestsQueryIn, UsageQueryIn
from tollway.analytics.domain.queries import InvalidQueryError

Q = TypeVar("Q", bound=msgspec.Struct)
_AT = re.compile(r" - at `\$\.(\w+)`")

Text = Annotated[str | None, QueryParameter(required=False)]
From = Annotated[str | None, QueryParameter(name="from", required=False, description="first UTC day, YYYY-MM-DD")]
To = Annotated[str | None, QueryParameter(name="to", required=False, description="last UTC day (included), YYYY-MM-DD")]
GroupBy = Annotated[str | None, QueryParameter(required=False, description="hour | day | model | provider")]
Limit = Annotated[str | None, QueryParameter(required=False, description="page size, 1-100 (default 50)")]


def parsed(query_type: type[Q], values: dict[str, str | None]) -> Q:
    """The Struct built from raw query strings; a bad value is ``InvalidQueryError`` naming the parameter."""
    given = {name: value for name, value in values.items() if value}
    try:
        return msgspec.convert(given, query_type, strict=False)
    except msgspec.ValidationError as exc:
        found = _AT.search(str(exc))
        param = found.group(1) if found else None
        reason = _AT.sub("", str(exc))
        raise InvalidQueryError(param or "query", f"invalid `{param}`: {reason}" if param else reason) from None


def usage_query(
    *,
    provider: Text = None,
    model: Text = None,
    is_fallback: Text = None,
    api_key_id: Text = None,
    date_from: From = None,
    date_to: To = None,
    group_by: GroupBy = None,
) -> UsageQueryIn:
    values = {"provider": provider, "model": model, "is_fallback": is_fallback, "api_key_id": api_key_id}
    return parsed(UsageQueryIn, {**values, "from": date_from, "to": date_to, "group_by": group_by})


def admin_usage_query(
    *,
    provider: Text = None,
    model: Text = None,
    is_fallback: Text = None,
    api_key_id: Text = None,
    date_from: From = None,
    date_to: To = None,
    group_by: GroupBy = None,
    user_id: Text = None,
) -> AdminUsageQueryIn:
    values = {"provider": provider, "model": model, "is_fallback": is_fallback, "api_key_id": api_key_id}
    values |= {"from": date_from, "to": date_to, "group_by": group_by, "user_id": user_id}
    return parsed(AdminUsageQueryIn, values)


def requests_query(
    *,
    provider: Text = None,
    model: Text = None,
    is_fallback: Text = None,
    api_key_id: Text = None,
    date_from: From = None,
    date_to: To = None,
    limit: Limit = None,
    cursor: Text = None,
) -> RequestsQueryIn:
    values = {"provider": provider, "model": model, "is_fallback": is_fallback, "api_key_id": api_key_id}
    values |= {"from": date_from, "to": date_to, "limit": limit, "cursor": cursor}
    return parsed(RequestsQueryIn, values)
