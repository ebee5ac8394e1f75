"""Anthropic's Usage & Cost Admin API and OpenAI's organization usage/costs API, served from loaded fixture rows."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from urllib.parse import parse_qs

import msgspec

from tollway.fakellm.errors import Provider
from tollway.fakellm.responses import Receive, Scope, Send, read_body, send_error, send_json
from tollway.fakellm.served_usage import SERVED, Prices

CONTROL_PATH = "/_fakellm/admin-usage"
ANTHROPIC_USAGE = "/v1/organizations/usage_report/messages"
ANTHROPIC_COST = "/v1/organizations/cost_report"
OPENAI_USAGE = "/v1/organization/usage/completions"
OPENAI_COST = "/v1/organization/costs"
PATHS = frozenset({CONTROL_PATH, ANTHROPIC_USAGE, ANTHROPIC_COST, OPENAI_USAGE, OPENAI_COST})
_DAY = timedelta(days=1)


class UsageRow(msgspec.Struct, frozen=True, kw_only=True):
    """One model's usage on one UTC day, as the provider bills it."""

    provider: str  # "anthropic" | "openai"
    model: str
    day: date
    input_tokens: int = 0  # uncached input (OpenAI's report adds the cache reads to it)
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0  # Anthropic only
    cost_micros: int = 0


class Fixture(msgspec.Struct, frozen=True, kw_only=True):
    rows: list[UsageRow] = msgspec.field(default_factory=list)
    page_size: int | None = None  # buckets per page regardless of ``limit``: forces pagination in tests
    rate_limit_every: int | None = None  # every n-th report request answers 429 with ``Retry-After: 0``
    # Also report what this process served (chat completions as OpenAI, messages as Anthropic), priced per model.
    served_prices: dict[str, Prices] | None = None
    overreport_percent: int = 0  # served usage and cost reported this much higher: a provider that over-bills


# Per worker process, like the stats: tests that load rows must run one worker.
_STATE: list[Fixture] = [Fixture()]
_SERVED = [0]  # report requests since the fixture was loaded


async def serve(scope: Scope, receive: Receive, send: Send) -> None:
    path: str = scope["path"]
    provider: Provider = "anthropic" if path.startswith("/v1/organizations/") else "openai"
    if path == CONTROL_PATH:
        await _load(scope, receive, send)
        return
    if scope["method"] != "GET":
        await send_error(send, provider, 405, f"fakellm: {scope['method']} not allowed on {path}")
        return
    headers = dict(scope["headers"])
    if not (headers.get(b"x-api-key") if provider == "anthropic" else headers.get(b"authorization")):
        await send_error(send, provider, 401, "fakellm: an admin key is required")
        return
    _SERVED[0] += 1
    every = _STATE[0].rate_limit_every
    if every and _SERVED[0] % every == 0:
        await send_error(send, provider, 429, "fakellm: admin API rate limit", retry_after="0")
        return
    query = {k: v[-1] for k, v in parse_qs(scope.get("query_string", b"").decode()).items()}
    try:
        body = _ANSWERS[path](query)
    except (KeyError, ValueError) as exc:
        await send_error(send, provider, 400, f"fakellm: bad query: {exc}")
        return
    await send_json(send, 200, msgspec.json.encode(body))


async def _load(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["method"] != "POST":
        await send_error(send, "openai", 405, "fakellm: POST a fixture")
        return
    try:
        _STATE[0] = msgspec.json.decode(await read_body(receive), type=Fixture)
        _SERVED[0] = 0
    except msgspec.DecodeError as exc:
        await send_error(send, "openai", 400, f"fakellm: bad fixture: {exc}")
        return
    await send_json(send, 200, msgspec.json.encode({"rows": len(_STATE[0].rows)}))


def _page(days: list[date], query: dict[str, str], default_limit: int) -> tuple[list[date], str | None]:
    """The day buckets of one page and the next page's token (an offset), ``None`` on the last page."""
    offset = int(query.get("page") or 0)
    limit = _STATE[0].page_size or int(query.get("limit") or default_limit)
    end = offset + limit
    return days[offset:end], (str(end) if end < len(days) else None)


def _days(start: date, end: date) -> list[date]:
    return [start + _DAY * i for i in range((end - start).days)]


def _rows(provider: str, day: date) -> list[UsageRow]:
    found = [r for r in _STATE[0].rows if r.provider == provider and r.day == day]
    return sorted(found + _served(provider, day), key=lambda r: r.model)


def _served(provider: str, day: date) -> list[UsageRow]:
    fixture = _STATE[0]
    if fixture.served_prices is None:
        return []
    return [
        UsageRow(
            provider=provider,
            model=s.model,
            day=day,
            input_tokens=s.tokens.input,
            output_tokens=s.tokens.output,
            cache_read_tokens=s.tokens.cache_read,
            cache_write_tokens=s.tokens.cache_write,
            cost_micros=s.cost_micros,
        )
        for s in SERVED.totals(provider, day, fixture.served_prices, fixture.overreport_percent)
    ]


def _iso(day: date) -> str:
    return datetime.combine(day, time(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _anthropic_window(query: dict[str, str]) -> tuple[list[date], str | None]:
    start = datetime.fromisoformat(query["starting_at"]).date()
    end = datetime.fromisoformat(query["ending_at"]).date() if query.get("ending_at") else start + _DAY * 7
    return _page(_days(start, end), query, 7)


def _anthropic_usage(query: dict[str, str]) -> dict[str, object]:
    days, next_page = _anthropic_window(query)
    data = [
        {
            "starting_at": _iso(day),
            "ending_at": _iso(day + _DAY),
            "results": [
                {
                    "model": r.model,
                    "uncached_input_tokens": r.input_tokens,
                    "cache_read_input_tokens": r.cache_read_tokens,
                    "cache_creation": {
                        "ephemeral_5m_input_tokens": r.cache_write_tokens,
                        "ephemeral_1h_input_tokens": 0,
                    },
                    "output_tokens": r.output_tokens,
                    "server_tool_use": {"web_search_requests": 0},
                    "api_key_id": None,
                    "workspace_id": None,
                    "service_tier": "standard",
                    "context_window": "0-200k",
                }
                for r in _rows("anthropic", day)
            ],
        }
        for day in days
    ]
    return {"data": data, "has_more": next_page is not None, "next_page": next_page}


def _anthropic_cost(query: dict[str, str]) -> dict[str, object]:
    days, next_page = _anthropic_window(query)
    # Anthropic reports amounts in cents as decimal strings.
    data = [
        {
            "starting_at": _iso(day),
            "ending_at": _iso(day + _DAY),
            "results": [
                {
                    "currency": "USD",
                    "amount": str(Decimal(r.cost_micros) / 10_000),
                    "cost_type": "tokens",
                    "description": f"{r.model} usage",
                    "model": r.model,
                    "token_type": None,
                    "workspace_id": None,
                    "service_tier": "standard",
                    "context_window": "0-200k",
                }
                for r in _rows("anthropic", day)
            ],
        }
        for day in days
    ]
    return {"data": data, "has_more": next_page is not None, "next_page": next_page}


def _openai_window(query: dict[str, str], default_limit: int) -> tuple[list[date], str | None]:
    start = datetime.fromtimestamp(int(query["start_time"]), UTC).date()
    end = datetime.fromtimestamp(int(query["end_time"]), UTC).date() if query.get("end_time") else start + _DAY * 7
    return _page(_days(start, end), query, default_limit)


def _epoch(day: date) -> int:
    return int(datetime.combine(day, time(), UTC).timestamp())


def _openai_usage(query: dict[str, str]) -> dict[str, object]:
    days, next_page = _openai_window(query, 7)
    data = [
        {
            "object": "bucket",
            "start_time": _epoch(day),
            "end_time": _epoch(day + _DAY),
            "results": [
                {
                    "object": "organization.usage.completions.result",
                    "model": r.model,
                    "input_tokens": r.input_tokens + r.cache_read_tokens,
                    "input_cached_tokens": r.cache_read_tokens,
                    "output_tokens": r.output_tokens,
                    "input_audio_tokens": 0,
                    "output_audio_tokens": 0,
                    "num_model_requests": 1,
                    "project_id": None,
                    "user_id": None,
                    "api_key_id": None,
                    "batch": None,
                }
                for r in _rows("openai", day)
            ],
        }
        for day in days
    ]
    return {"object": "page", "data": data, "has_more": next_page is not None, "next_page": next_page}


def _openai_cost(query: dict[str, str]) -> dict[str, object]:
    days, next_page = _openai_window(query, 7)
    data = [
        {
            "object": "bucket",
            "start_time": _epoch(day),
            "end_time": _epoch(day + _DAY),
            "results": [
                {
                    "object": "organization.costs.result",
                    "amount": {"value": float(Decimal(r.cost_micros) / 1_000_000), "currency": "usd"},
                    "line_item": f"{r.model}, input and output",
                    "project_id": None,
                }
                for r in _rows("openai", day)
            ],
        }
        for day in days
    ]
    return {"object": "page", "data": data, "has_more": next_page is not None, "next_page": next_page}


_ANSWERS = {
    ANTHROPIC_USAGE: _anthropic_usage,
    ANTHROPIC_COST: _anthropic_cost,
    OPENAI_USAGE: _openai_usage,
    OPENAI_COST: _openai_cost,
}
