"""The credit events each posting publishes, and the balance alerts a downward crossing raises."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from tollway.billing.domain.ledger import Posting
from tollway.contracts import (
    BalanceExhaustedV1,
    BalanceLowV1,
    CreditDebitedV1,
    CreditDeductedV1,
    CreditGrantedV1,
    Event,
)
from tollway.contracts.billing import DeductionKind


def crossed_low(before: int, after: int, threshold: int) -> bool:
    """True once per downward crossing: from at or above ``threshold`` to below it."""
    return before >= threshold > after


def crossed_exhausted(before: int, after: int) -> bool:
    """True once per downward crossing into zero or below."""
    return before > 0 >= after


def events_for(postings: Sequence[Posting], low_threshold_micros: int) -> list[Event]:
    """One credit event per posting that moved money, plus the alerts its move crossed, in posting order."""
    events: list[Event] = []
    for posting in postings:
        credit = _credit_event(posting)
        if credit is not None:
            events.append(credit)
        events.extend(_alerts(posting, low_threshold_micros))
    return events


def _credit_event(p: Posting) -> Event | None:
    if p.type == "usage":
        return _debited(p)
    if p.amount_micros > 0 and p.type != "expiry":
        return CreditGrantedV1(
            account_id=p.account_id,
            user_id=p.user_id,
            transaction_id=p.id,
            kind=p.type,
            amount_micros=p.amount_micros,
            balance_after_micros=p.balance_after_micros,
            reference=p.reference,
            account_seq=p.seq,
        )
    if p.amount_micros < 0:
        return _deducted(p)
    return None  # a zero posting (e.g. a trial that expired fully spent) moves nothing


def _debited(p: Posting) -> CreditDebitedV1:
    return CreditDebitedV1(
        account_id=p.account_id,
        user_id=p.user_id,
        transaction_id=p.id,
        amount_micros=p.amount_micros,
        balance_after_micros=p.balance_after_micros,
        request_id=str(p.metadata.get("request_id", "")),
        account_seq=p.seq,
    )


def _deducted(p: Posting) -> CreditDeductedV1:
    return CreditDeductedV1(
        account_id=p.account_id,
        user_id=p.user_id,
        transaction_id=p.id,
        kind=cast("DeductionKind", p.type),
        amount_micros=p.amount_micros,
        balance_after_micros=p.balance_after_micros,
        reference=p.reference,
        account_seq=p.seq,
    )


def _alerts(p: Posting, threshold: int) -> list[Event]:
    before, after = p.balance_before_micros, p.balance_after_micros
    alerts: list[Event] = []
    if crossed_low(before, after, threshold):
        alerts.append(
            BalanceLowV1(account_id=p.account_id, user_id=p.user_id, balance_micros=after, threshold_micros=threshold)
        )
    if crossed_exhausted(before, after):
        alerts.append(BalanceExhaustedV1(account_id=p.account_id, user_id=p.user_id, balance_micros=after))
    return alerts
