"""Admission of one request: its token estimate, its credit hold, and what the atomic check decided."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal

import msgspec

from tollway.contracts.internal_api import ModelOut, PricesOut, PublicApiName
from tollway.gateway.domain.identity import Identity
from tollway.gateway.domain.ratelimits import (
    Kind,
    Limits,
    Periods,
    Window,
    go_duration,
    retry_after_headers,
    windows_for,
)
from tollway.gateway.domain.rejections import (
    AnonymousNotAllowedError,
    InsufficientCreditError,
    KeyBudgetExceededError,
    PublicError,
    RateLimitedError,
    TokensExceedLimitError,
)
from tollway.gateway.domain.usage import Usage

MICROS_PER_USD = 1_000_000
BYTES_PER_TOKEN = 4  # the usual rule of thumb for English text and JSON; its error is what the ADR bounds
TOKENS_PER_PRICE_UNIT = 1_000_000  # catalogue prices are micro-USD per million tokens
MIN_ERROR_STATUS = 400
_BUDGET_NAMES = {"day": "daily", "month": "monthly"}
_LIMIT_NAMES = {"rpm": "requests per minute (RPM)", "tpm": "tokens per minute (TPM)", "rpd": "requests per day (RPD)"}


class Outcome(enum.IntEnum):
    """The admission script's verdict (its first return value)."""

    ADMITTED = 0
    RATE_LIMITED = 1
    NO_CREDIT = 2
    TOO_LARGE = 3  # one request costs more than a whole window: waiting never helps
    OVER_BUDGET = 4  # the key's day or month spend limit cannot take this request's hold


BudgetWindow = Literal["day", "month"]


class Budget(msgspec.Struct, frozen=True, kw_only=True):
    """One spend limit of a key over one calendar window (UTC); ``period`` names the window (``20261203``)."""

    window: BudgetWindow
    period: str
    limit_micros: int


def budget_periods(now: datetime) -> dict[BudgetWindow, str]:
    """The UTC calendar day and month ``now`` falls in, as the counters' names."""
    utc = now.astimezone(UTC)
    return {"day": utc.strftime("%Y%m%d"), "month": utc.strftime("%Y%m")}


def key_budgets(identity: Identity, now: datetime) -> tuple[Budget, ...]:
    """The key's spend limits as they apply now (a limit of 0 refuses every paid request)."""
    periods = budget_periods(now)
    limits: dict[BudgetWindow, int | None] = {
        "day": identity.spend_limit_day_micros,
        "month": identity.spend_limit_month_micros,
    }
    return tuple(
        Budget(window=window, period=periods[window], limit_micros=limit)
        for window, limit in limits.items()
        if limit is not None
    )


class AdmissionPlan(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the one atomic Redis call needs; ``hold_micros`` is ``None`` when there is no credit gate."""

    request_id: str
    account: str  # the user id, or ``anon:<ip hash>``: every key of the call shares it (one Redis Cluster slot)
    windows: tuple[Window, ...]
    hold_micros: int | None
    balance_micros: int
    reserved_tokens: int
    api: PublicApiName = "openai"  # whose header names the answer carries
    api_key_id: str | None = None  # whose budgets ``budgets`` are
    budgets: tuple[Budget, ...] = ()  # charged the hold at admission and corrected to the cost at settlement


class WindowState(msgspec.Struct, frozen=True, array_like=True):
    remaining: int
    reset_ms: int


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    outcome: Outcome
    blocking: int = -1  # index in ``plan.windows`` of the window that refused, when one did
    retry_after_ms: int = 0
    available_micros: int = 0
    states: tuple[WindowState, ...] = ()
    degraded: bool = False  # admitted without Redis (fail-open): nothing to settle


class ChatCall(msgspec.Struct, frozen=True, kw_only=True):
    """A public chat request as the admission use case sees it; ``identity`` is ``None`` for anonymous calls."""

    request_id: str
    api: PublicApiName
    body: bytes
    identity: Identity | None
    client: str  # a hash of the client address: the anonymous rate-limit subject


class Admitted(msgspec.Struct, frozen=True, kw_only=True):
    """An admitted request: what to forward, and what settling it needs."""

    call: ChatCall
    model: ModelOut
    stream: bool
    plan: AdmissionPlan
    decision: Decision
    headers: dict[str, str]  # the x-ratelimit-* headers of every response to it


def prompt_token_estimate(body_bytes: int) -> int:
    return -(-body_bytes // BYTES_PER_TOKEN)


def output_token_cap(requested: int | None, model: ModelOut) -> int:
    """The output tokens the router allows: the request's cap, never above the model's."""
    return min(requested or model.max_output_tokens, model.max_output_tokens)


def prompt_price(prices: PricesOut) -> int:
    """The dearest way a prompt token can be billed (a cache write can cost more than plain input)."""
    return max(prices.input, prices.cache_write, prices.cache_read)


def cost_micros(prompt_tokens: int, output_tokens: int, prices: PricesOut) -> int:
    """Upper-bound cost in integer micro-USD, rounded up once: every prompt token at its dearest price."""
    numerator = prompt_tokens * prompt_price(prices) + output_tokens * prices.output
    return -(-numerator // TOKENS_PER_PRICE_UNIT)


def plan_admission(
    call: ChatCall,
    *,
    output_cap: int | None,
    model: ModelOut,
    subjects: Sequence[tuple[str, Limits]],
    periods: Periods,
    balance_micros: int,
    now: datetime | None = None,
) -> AdmissionPlan:
    """The windows of every subject (key, user, or anonymous client) and, for accounts, the credit hold and budgets."""
    prompt = prompt_token_estimate(len(call.body))
    output = output_token_cap(output_cap, model)
    tokens = prompt + output
    windows = tuple(w for scope, limits in subjects for w in windows_for(scope, limits, tokens, periods))
    budgets: tuple[Budget, ...] = ()
    key_id: str | None = None
    if call.identity is None:
        if not model.anonymous_allowed:
            raise AnonymousNotAllowedError(f"the model `{model.id}` needs an API key", "model")
        account, hold = f"anon:{call.client}", None
    else:
        account, hold = call.identity.user_id, cost_micros(prompt, output, model.prices)
        key_id, budgets = call.identity.api_key_id, key_budgets(call.identity, now or datetime.now(UTC))
    return AdmissionPlan(
        request_id=call.request_id,
        account=account,
        windows=windows,
        hold_micros=hold,
        balance_micros=balance_micros,
        reserved_tokens=tokens,
        api=call.api,
        api_key_id=key_id,
        budgets=budgets,
    )


def limits_plan(
    account: str, subjects: Sequence[tuple[str, Limits]], periods: Periods, api: PublicApiName
) -> AdmissionPlan:
    """The windows of ``subjects`` charged nothing: what a response admission did not make reports (``peek``)."""
    windows = tuple(w for scope, limits in subjects for w in windows_for(scope, limits, 0, periods))
    return AdmissionPlan(
        request_id="", account=account, windows=windows, hold_micros=None, balance_micros=0, reserved_tokens=0, api=api
    )


def refusal(plan: AdmissionPlan, decision: Decision) -> PublicError:
    """The error for a refused admission, carrying the rate-limit headers (and ``Retry-After`` for a 429)."""
    headers = rate_limit_headers(plan, decision)
    if decision.outcome is Outcome.NO_CREDIT:
        message = (
            f"Insufficient credit: this request can cost up to {usd(plan.hold_micros or 0)} and "
            f"{usd(max(0, decision.available_micros))} is available. Add credit or lower max_tokens."
        )
        return InsufficientCreditError(message, headers=headers)
    if decision.outcome is Outcome.OVER_BUDGET:
        return _over_budget(plan, decision, headers)
    window = plan.windows[decision.blocking]
    limit = f"{_LIMIT_NAMES[window.name]} on {_subject_name(window.scope)}: limit {window.limit}"
    if decision.outcome is Outcome.TOO_LARGE:
        return TokensExceedLimitError(f"This request needs ~{window.cost} tokens, more than the {limit}.", "max_tokens")
    wait = go_duration(decision.retry_after_ms)
    headers.update(retry_after_headers(decision.retry_after_ms))
    return RateLimitedError(f"Rate limit reached for {limit}. Please try again in {wait}.", headers=headers)


def _over_budget(plan: AdmissionPlan, decision: Decision, headers: dict[str, str]) -> PublicError:
    budget = plan.budgets[decision.blocking]
    message = (
        f"This API key's {_BUDGET_NAMES[budget.window]} spend limit of {usd(budget.limit_micros)} is reached: this "
        f"request can cost up to {usd(plan.hold_micros or 0)} and {usd(max(0, decision.available_micros))} of the "
        f"limit is left. Raise the key's spend_limit_{budget.window}_micros or wait for the next {budget.window} (UTC)."
    )
    return KeyBudgetExceededError(message, f"spend_limit_{budget.window}_micros", headers=headers)


def settlement(admitted: Admitted, status: int, usage: Usage | None) -> tuple[int | None, int | None]:
    """``(cost, token delta)`` to settle with.

    A failed call costs nothing (the router bills only completed ones); unknown usage keeps the whole hold and
    token reservation; known usage is priced the way the hold was.
    """
    plan = admitted.plan
    gated = plan.hold_micros is not None
    if status >= MIN_ERROR_STATUS or status == 0:
        return (0 if gated else None), -plan.reserved_tokens
    if usage is None:
        return plan.hold_micros, None
    cost = cost_micros(usage.prompt_tokens, usage.output_tokens, admitted.model.prices) if gated else None
    return cost, usage.total - plan.reserved_tokens


def usd(micros: int) -> str:
    return f"${micros / MICROS_PER_USD:.6f}"


def _subject_name(scope: str) -> str:
    if scope.startswith("key:"):
        return "this API key"
    return "this account" if scope == "user" else "anonymous use from this address"


def rate_limit_headers(plan: AdmissionPlan, decision: Decision, now: datetime | None = None) -> dict[str, str]:
    """The rate-limit headers of a response: the tightest window of each kind (none when every one is unlimited).

    OpenAI's ``x-ratelimit-*`` names on every route (SDKs and clients read them); on the Anthropic route also
    Anthropic's ``anthropic-ratelimit-*`` names, whose reset is the RFC 3339 time the window is full again.
    """
    return window_headers(plan, decision.states, now)


def window_headers(plan: AdmissionPlan, states: Sequence[WindowState], now: datetime | None = None) -> dict[str, str]:
    headers: dict[str, str] = {}
    if not states:
        return headers
    for kind in Kind:
        tightest = _tightest(plan, states, kind)
        if tightest is None:
            continue
        window, state = tightest
        remaining = str(max(0, state.remaining))
        headers[f"x-ratelimit-limit-{kind}"] = str(window.limit)
        headers[f"x-ratelimit-remaining-{kind}"] = remaining
        headers[f"x-ratelimit-reset-{kind}"] = go_duration(state.reset_ms)
        if plan.api == "anthropic":
            full_at = (now or datetime.now(UTC)) + timedelta(milliseconds=max(0, state.reset_ms))
            headers[f"anthropic-ratelimit-{kind}-limit"] = str(window.limit)
            headers[f"anthropic-ratelimit-{kind}-remaining"] = remaining
            headers[f"anthropic-ratelimit-{kind}-reset"] = full_at.isoformat(timespec="seconds").replace("+00:00", "Z")
    return headers


def _tightest(plan: AdmissionPlan, states: Sequence[WindowState], kind: Kind) -> tuple[Window, WindowState] | None:
    pairs = [(w, s) for w, s in zip(plan.windows, states, strict=True) if w.kind is kind]
    if not pairs:
        return None
    # Every request costs the same in each window of a kind, so the fewest remaining units block first.
    return min(pairs, key=lambda pair: (pair[1].remaining, -pair[1].reset_ms))
