"""Monthly statements: opening balance, every transaction of the month, closing balance, and their CSV."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from datetime import UTC, datetime

import msgspec

from tollway.billing.domain.errors import InvalidInputError
from tollway.billing.domain.ledger import Posting
from tollway.billing.domain.money import usd_decimal

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
CSV_COLUMNS = ("created_at", "transaction_id", "seq", "type", "description", "reference", "amount_usd",
               "balance_after_usd", "amount_micros", "balance_after_micros")  # fmt: skip


class Statement(msgspec.Struct, frozen=True, kw_only=True):
    user_id: str
    account_id: str | None
    month: str
    period_start: datetime  # inclusive
    period_end: datetime  # exclusive
    opening_balance_micros: int
    closing_balance_micros: int
    credits_micros: int
    debits_micros: int  # negative
    totals_by_type: dict[str, int]
    transactions: list[Posting]
    # Opening + every amount = closing, and each transaction starts from the balance the previous one left.
    reconciled: bool


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """``2026-11`` → [2026-11-01, 2026-12-01) in UTC."""
    match = _MONTH.match(month)
    if match is None or not 1 <= int(match[2]) <= 12:
        raise InvalidInputError("month must look like 2026-11", "month")
    year, number = int(match[1]), int(match[2])
    start = datetime(year, number, 1, tzinfo=UTC)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC)
    return start, end


def build_statement(
    *, user_id: str, account_id: str | None, month: str, opening_micros: int, postings: Sequence[Posting]
) -> Statement:
    """The month's statement from the balance before it and its transactions in sequence order."""
    start, end = month_bounds(month)
    ordered = sorted(postings, key=lambda p: p.seq)
    totals: dict[str, int] = {}
    for p in ordered:
        totals[p.type] = totals.get(p.type, 0) + p.amount_micros
    closing = ordered[-1].balance_after_micros if ordered else opening_micros
    return Statement(
        user_id=user_id,
        account_id=account_id,
        month=month,
        period_start=start,
        period_end=end,
        opening_balance_micros=opening_micros,
        closing_balance_micros=closing,
        credits_micros=sum(p.amount_micros for p in ordered if p.amount_micros > 0),
        debits_micros=sum(p.amount_micros for p in ordered if p.amount_micros < 0),
        totals_by_type=totals,
        transactions=ordered,
        reconciled=_chained(opening_micros, ordered, closing),
    )


def _chained(opening: int, ordered: Sequence[Posting], closing: int) -> bool:
    balance = opening
    for p in ordered:
        if p.balance_before_micros != balance:
            return False
        balance = p.balance_after_micros
    return balance == closing == opening + sum(p.amount_micros for p in ordered)


def statement_csv(statement: Statement) -> str:
    """One row per transaction between an opening and a closing row, amounts exact (USD and micro-USD)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    opening, closing = statement.opening_balance_micros, statement.closing_balance_micros
    writer.writerow(_balance_row(statement.period_start, "opening_balance", opening))
    for p in statement.transactions:
        writer.writerow(
            (p.created_at.isoformat(), p.id, p.seq, p.type, _safe(p.description), p.reference,
             usd_decimal(p.amount_micros), usd_decimal(p.balance_after_micros), p.amount_micros,
             p.balance_after_micros)
        )  # fmt: skip
    writer.writerow(_balance_row(statement.period_end, "closing_balance", closing))
    return out.getvalue()


def _balance_row(at: datetime, kind: str, micros: int) -> tuple[object, ...]:
    return (at.isoformat(), "", "", kind, "", "", "", usd_decimal(micros), "", micros)


def _safe(text: str) -> str:
    # A spreadsheet runs a cell starting with these as a formula: an operator's description must stay text.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
