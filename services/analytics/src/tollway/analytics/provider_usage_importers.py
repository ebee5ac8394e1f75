"""Adapters to the providers' admin usage/cost APIs: Anthropic's Usage & Cost Admin API, OpenAI's organization API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, date, datetime, time, timedelta

import aiohttp
import msgspec

from tollway.analytics.domain.provider_usage import ProviderUsage, UsageKey, merged, micros

_DAY = timedelta(days=1)
_TIMEOUT = aiohttp.ClientTimeout(total=30)
CENTS, DOLLARS = 10_000, 1_000_000  # micros per unit
RATE_LIMIT_RETRIES = 3
MAX_RETRY_AFTER_S = 10.0


class ProviderUsageError(Exception):
    """A provider's admin API answered with an error (its status is kept; the key never is)."""

    def __init__(self, provider: str, status: int) -> None:
        super().__init__(f"{provider} admin API answered {status}")
        self.provider = provider
        self.status = status


# The fields read from each answer; unknown fields are ignored, so the providers may add more.
class _CacheCreation(msgspec.Struct, frozen=True):
    ephemeral_5m_input_tokens: int = 0
    ephemeral_1h_input_tokens: int = 0


class _AnthropicUsage(msgspec.Struct, frozen=True):
    model: str | None = None
    uncached_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_creation: _CacheCreation = _CacheCreation()
    output_tokens: int = 0


class _AnthropicCost(msgspec.Struct, frozen=True):
    amount: str  # cents, a decimal string
    model: str | None = None


class _AnthropicBucket(msgspec.Struct, frozen=True):
    starting_at: datetime
    results: list[msgspec.Raw]


class _OpenAIUsage(msgspec.Struct, frozen=True):
    model: str | None = None
    input_tokens: int = 0  # cache reads included
    input_cached_tokens: int = 0
    output_tokens: int = 0


class _Amount(msgspec.Struct, frozen=True):
    value: float | str


class _OpenAICost(msgspec.Struct, frozen=True):
    amount: _Amount
    line_item: str | None = None  # "<model>, input" and the like


class _OpenAIBucket(msgspec.Struct, frozen=True):
    start_time: int
    results: list[msgspec.Raw]


class _Page(msgspec.Struct, frozen=True):
    data: list[msgspec.Raw]
    has_more: bool = False
    next_page: str | None = None


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


class _AdminApi:
    """Walks every page of one admin endpoint (``page`` = the previous answer's ``next_page``)."""

    provider = ""

    def __init__(self, base_url: str, headers: Mapping[str, str]) -> None:
        self._base = base_url.rstrip("/")
        self._headers = dict(headers)

    async def _pages(self, path: str, params: Mapping[str, str]) -> AsyncIterator[list[msgspec.Raw]]:
        query = dict(params)
        async with aiohttp.ClientSession(headers=self._headers, timeout=_TIMEOUT) as session:
            while True:
                page = await self._get(session, path, query)
                yield page.data
                if not page.has_more or not page.next_page:
                    return
                query["page"] = page.next_page

    async def _get(self, session: aiohttp.ClientSession, path: str, query: Mapping[str, str]) -> _Page:
        """One page; a 429 is retried after its ``Retry-After`` (capped), a few times, before it is an error."""
        for attempt in range(RATE_LIMIT_RETRIES + 1):
            async with session.get(f"{self._base}{path}", params=query) as answer:
                if answer.status == 200:
                    return msgspec.json.decode(await answer.read(), type=_Page)
                if answer.status != 429 or attempt == RATE_LIMIT_RETRIES:
                    raise ProviderUsageError(self.provider, answer.status)
                wait = _seconds(answer.headers.get("retry-after"))
            await asyncio.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def _seconds(retry_after: str | None) -> float:
    try:
        return min(MAX_RETRY_AFTER_S, max(0.0, float(retry_after or 1)))
    except ValueError:  # an HTTP date: wait the cap rather than parse it
        return MAX_RETRY_AFTER_S


class AnthropicUsageImporter(_AdminApi):
    """``/v1/organizations/usage_report/messages`` and ``/cost_report``, daily buckets grouped by model."""

    def __init__(self, base_url: str, admin_key: str, provider: str = "anthropic") -> None:
        super().__init__(base_url, {"x-api-key": admin_key, "anthropic-version": "2023-06-01"})
        self.provider = provider  # the catalogue's provider id the usage is filed under and reconciled with

    async def fetch(self, start: date, end: date) -> list[ProviderUsage]:
        window = {"starting_at": _iso(start), "ending_at": _iso(end + _DAY), "bucket_width": "1d", "limit": "31"}
        tokens = []
        async for data in self._pages("/v1/organizations/usage_report/messages", {**window, "group_by[]": "model"}):
            for bucket in (msgspec.json.decode(raw, type=_AnthropicBucket) for raw in data):
                day = bucket.starting_at.astimezone(UTC).date()
                tokens += [
                    _anthropic_row(self.provider, day, msgspec.json.decode(r, type=_AnthropicUsage))
                    for r in bucket.results
                ]
        costs: list[tuple[UsageKey, int]] = []
        async for data in self._pages("/v1/organizations/cost_report", {**window, "group_by[]": "description"}):
            for bucket in (msgspec.json.decode(raw, type=_AnthropicBucket) for raw in data):
                day = bucket.starting_at.astimezone(UTC).date()
                for raw in bucket.results:
                    cost = msgspec.json.decode(raw, type=_AnthropicCost)
                    costs.append(((self.provider, cost.model or "", day), micros(cost.amount, CENTS)))
        return merged(tokens, costs)


def _iso(day: date) -> str:
    return _midnight(day).strftime("%Y-%m-%dT%H:%M:%SZ")


def _anthropic_row(provider: str, day: date, usage: _AnthropicUsage) -> ProviderUsage:
    writes = usage.cache_creation.ephemeral_5m_input_tokens + usage.cache_creation.ephemeral_1h_input_tokens
    return ProviderUsage(
        provider=provider,
        model=usage.model or "",
        day=day,
        input_tokens=usage.uncached_input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cache_read_input_tokens,
        cache_write_tokens=writes,
    )


class OpenAIUsageImporter(_AdminApi):
    """``/v1/organization/usage/completions`` (grouped by model) and ``/v1/organization/costs`` (by line item)."""

    def __init__(self, base_url: str, admin_key: str, provider: str = "openai") -> None:
        super().__init__(base_url, {"authorization": f"Bearer {admin_key}"})
        self.provider = provider

    async def fetch(self, start: date, end: date) -> list[ProviderUsage]:
        epoch = {"start_time": _epoch(start), "end_time": _epoch(end + _DAY), "bucket_width": "1d", "limit": "31"}
        tokens = []
        async for data in self._pages("/v1/organization/usage/completions", {**epoch, "group_by": "model"}):
            for bucket in (msgspec.json.decode(raw, type=_OpenAIBucket) for raw in data):
                day = datetime.fromtimestamp(bucket.start_time, UTC).date()
                tokens += [
                    _openai_row(self.provider, day, msgspec.json.decode(r, type=_OpenAIUsage)) for r in bucket.results
                ]
        costs: list[tuple[UsageKey, int]] = []
        async for data in self._pages("/v1/organization/costs", {**epoch, "group_by": "line_item"}):
            for bucket in (msgspec.json.decode(raw, type=_OpenAIBucket) for raw in data):
                day = datetime.fromtimestamp(bucket.start_time, UTC).date()
                for raw in bucket.results:
                    cost = msgspec.json.decode(raw, type=_OpenAICost)
                    # A line item names the model first ("gpt-4o, input"): costs join the usage by that name.
                    model = (cost.line_item or "").split(",")[0].strip()
                    costs.append(((self.provider, model, day), micros(cost.amount.value, DOLLARS)))
        return merged(tokens, costs)


def _epoch(day: date) -> str:
    return str(int(_midnight(day).timestamp()))


def _openai_row(provider: str, day: date, usage: _OpenAIUsage) -> ProviderUsage:
    return ProviderUsage(
        provider=provider,
        model=usage.model or "",
        day=day,
        input_tokens=usage.input_tokens - usage.input_cached_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.input_cached_tokens,
    )
