"""Operator actions on the ledger: grants, adjustments and refunds, with their caps and references."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from tollway.billing.domain.errors import InvalidInputError, LimitExceededError, NotRefundableError
from tollway.billing.domain.idempotency import fingerprint
from tollway.billing.domain.ledger import Entry, Posting
from tollway.billing.domain.money import usd_label
from tollway.billing.domain.policy import BillingPolicy

AdminCreditKind = Literal["grant", "adjustment"]


class AdminCredit(msgspec.Struct, frozen=True, kw_only=True):
    """A grant (positive) or adjustment (either sign) an operator asked for, under an Idempotency-Key."""

    kind: AdminCreditKind
    user_id: str
    amount_micros: int
    description: str
    idempotency_key: str
    admin: str

    @property
    def fingerprint(self) -> str:
        """Same key with a different request is a conflict; who retries it does not matter."""
        return fingerprint(self.kind, self.user_id, {"amount_micros": self.amount_micros, "desc": self.description})

    def entry(self) -> Entry:
        return Entry(
            type=self.kind,
            amount_micros=self.amount_micros,
            reference=f"{self.kind}:{self.idempotency_key}",
            description=self.description,
            metadata={"admin": self.admin, "idempotency_key": self.idempotency_key},
        )


def check_amount(credit: AdminCredit, policy: BillingPolicy) -> None:
    if credit.kind == "grant" and credit.amount_micros <= 0:
        raise InvalidInputError("a grant must be positive; use an adjustment to remove credit", "amount_micros")
    if credit.amount_micros == 0:
        raise InvalidInputError("an adjustment of zero changes nothing", "amount_micros")
    if abs(credit.amount_micros) > policy.max_grant_micros:
        raise LimitExceededError(
            f"{usd_label(abs(credit.amount_micros))} exceeds the per-{credit.kind} cap of "
            f"{usd_label(policy.max_grant_micros)} ({policy.max_grant_micros} micro-USD)",
            "amount_micros",
        )


def check_daily_limit(granted_today_micros: int, amount_micros: int, policy: BillingPolicy) -> None:
    """All operators together may add at most the daily limit per UTC day."""
    total, limit = granted_today_micros + amount_micros, policy.admin_daily_limit_micros
    if total > limit:
        left = max(0, limit - granted_today_micros)
        raise LimitExceededError(
            f"admin credit today would reach {usd_label(total)}, above the daily limit of {usd_label(limit)} "
            f"({usd_label(left)} left today, UTC)",
            "amount_micros",
        )


def check_overspend(balance_after_micros: int, policy: BillingPolicy) -> None:
    """A deduction may not push a balance below the overspend bound that ``verify`` enforces."""
    if balance_after_micros < -policy.overspend_bound_micros:
        raise LimitExceededError(
            f"this would leave the balance at {usd_label(balance_after_micros)}, below the overspend bound of "
            f"{usd_label(-policy.overspend_bound_micros)}",
            "amount_micros",
        )


def utc_day_start(now: datetime) -> datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


class RefundRequest(msgspec.Struct, frozen=True, kw_only=True):
    transaction_id: str
    amount_micros: int | None = None  # None: the whole charge
    reason: str = ""
    admin: str


def refund_reference(transaction_id: str) -> str:
    return f"refund:{transaction_id}"


def refund_entry(usage: Posting, request: RefundRequest) -> Entry:
    """Credit back (part of) one usage charge; only usage is refundable, and at most what it charged."""
    if usage.type != "usage":
        raise NotRefundableError(f"only usage transactions can be refunded, not {usage.type}", "transaction_id")
    charged = -usage.amount_micros
    amount = charged if request.amount_micros is None else request.amount_micros
    if not 0 < amount <= charged:
        raise InvalidInputError(f"a refund must be between 1 and {charged} micro-USD", "amount_micros")
    return Entry(
        type="refund",
        amount_micros=amount,
        reference=refund_reference(usage.id),
        description=request.reason or "refund",
        metadata={
            "refunded_transaction_id": usage.id,
            "request_id": usage.metadata.get("request_id"),
            "admin": request.admin,
        },
    )
