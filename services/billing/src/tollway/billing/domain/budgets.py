"""Per-key budgets as billing sees them: UTC periods, each key's debits per period, the debit that reaches a limit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

import msgspec

from tollway.billing.domain.ledger import Posting
from tollway.contracts import ApiKeyBudgetChangedV1, BudgetExceededV1
from tollway.contracts.billing import BudgetWindow

WINDOWS: tuple[BudgetWindow, ...] = ("day", "month")
_FORMATS: dict[BudgetWindow, str] = {"day": "%Y%m%d", "month": "%Y%m"}  # the gateway's counter names


class KeyBudget(msgspec.Struct, frozen=True, kw_only=True):
    """A key's limits as the gateway last announced them; ``changed_at`` orders announcements (later wins)."""

    api_key_id: str
    user_id: str
    day_limit_micros: int | None = None
    month_limit_micros: int | None = None
    changed_at: datetime

    def limit(self, window: BudgetWindow) -> int | None:
        return self.day_limit_micros if window == "day" else self.month_limit_micros


def budget_of(event: ApiKeyBudgetChangedV1) -> KeyBudget:
    return KeyBudget(
        api_key_id=event.api_key_id,
        user_id=event.user_id,
        day_limit_micros=event.spend_limit_day_micros,
        month_limit_micros=event.spend_limit_month_micros,
        changed_at=event.occurred_at,
    )


def latest_budgets(events: Sequence[ApiKeyBudgetChangedV1]) -> list[KeyBudget]:
    """One budget per key: the latest announced in the batch, in key order."""
    latest: dict[str, KeyBudget] = {}
    for budget in map(budget_of, events):
        seen = latest.get(budget.api_key_id)
        if seen is None or budget.changed_at > seen.changed_at:
            latest[budget.api_key_id] = budget
    return [latest[k] for k in sorted(latest)]


def period_of(window: BudgetWindow, at: datetime) -> str:
    """The UTC calendar day or month ``at`` falls in, named as the gateway names its counters."""
    return at.astimezone(UTC).strftime(_FORMATS[window])


def period_bounds(window: BudgetWindow, period: str) -> tuple[datetime, datetime]:
    """``[start, end)`` of a named period, in UTC."""
    start = datetime.strptime(period, _FORMATS[window]).replace(tzinfo=UTC)
    if window == "day":
        return start, start + timedelta(days=1)
    year, month = divmod(start.month, 12)
    return start, start.replace(year=start.year + year, month=month + 1)


class Debit(msgspec.Struct, frozen=True, kw_only=True):
    """A usage posting of a key: ``at`` is when the request completed (the router's event time)."""

    api_key_id: str
    user_id: str
    account_id: str
    transaction_id: str
    amount_micros: int  # positive: what the request cost
    at: datetime


def debit_time(posting: Posting) -> datetime:
    """The request's completion time when the posting recorded it, else when billing posted it."""
    completed = posting.metadata.get("completed_at")
    return datetime.fromisoformat(completed) if isinstance(completed, str) else posting.created_at


def debits_of(postings: Sequence[Posting]) -> list[Debit]:
    return [
        Debit(
            api_key_id=key,
            user_id=p.user_id,
            account_id=p.account_id,
            transaction_id=p.id,
            amount_micros=-p.amount_micros,
            at=debit_time(p),
        )
        for p in postings
        if p.type == "usage" and isinstance(key := p.metadata.get("api_key_id"), str) and key
    ]


class PeriodKey(msgspec.Struct, frozen=True, order=True):
    """One key's spend counter: a key, a window and the period of that window."""

    api_key_id: str
    window: BudgetWindow
    period: str


class PeriodSpend(msgspec.Struct, frozen=True, kw_only=True):
    """What one batch adds to one counter: its debits in posting order, and the limit in force for them."""

    key: PeriodKey
    account_id: str
    user_id: str
    limit_micros: int | None
    debits: list[Debit]

    @property
    def added_micros(self) -> int:
        return sum(d.amount_micros for d in self.debits)


def spend_by_period(debits: Sequence[Debit], budgets: Mapping[str, KeyBudget]) -> list[PeriodSpend]:
    """The counters a batch moves, in key order (the order their rows are locked in).

    Only keys with a budget are counted, and only their owner's debits: a key belongs to one account, so the
    account lock every debit takes already serialises its counters.
    """
    grouped: dict[PeriodKey, list[Debit]] = {}
    for debit in debits:
        budget = budgets.get(debit.api_key_id)
        if budget is None or budget.user_id != debit.user_id:
            continue
        for window in WINDOWS:
            grouped.setdefault(PeriodKey(debit.api_key_id, window, period_of(window, debit.at)), []).append(debit)
    return [
        PeriodSpend(
            key=key,
            account_id=found[0].account_id,
            user_id=found[0].user_id,
            limit_micros=budgets[key.api_key_id].limit(key.window),
            debits=found,
        )
        for key, found in sorted(grouped.items())
    ]


def reaching_debit(limit: int | None, spent_before: int, amounts: Sequence[int]) -> int | None:
    """The index of the debit after which the period's spend is first at or over ``limit`` (``None``: never)."""
    if limit is None:
        return None
    running = spent_before
    for index, amount in enumerate(amounts):
        running += amount
        if running >= limit:
            return index
    return None


def exceeded_event(spend: PeriodSpend, spent_before: int) -> BudgetExceededV1 | None:
    """The announcement this batch owes the counter, if one of its debits reached the limit (call once per period)."""
    amounts = [d.amount_micros for d in spend.debits]
    index = reaching_debit(spend.limit_micros, spent_before, amounts)
    if index is None or spend.limit_micros is None:
        return None
    return BudgetExceededV1(
        api_key_id=spend.key.api_key_id,
        account_id=spend.account_id,
        user_id=spend.user_id,
        window=spend.key.window,
        period=spend.key.period,
        limit_micros=spend.limit_micros,
        spent_micros=spent_before + sum(amounts[: index + 1]),
        transaction_id=spend.debits[index].transaction_id,
    )


class KeySpend(msgspec.Struct, frozen=True):
    """A counter after a batch: the period's spend so far, and whether its announcement was already made."""

    spent_micros: int
    announced: bool
