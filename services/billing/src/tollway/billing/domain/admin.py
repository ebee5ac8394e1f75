"""Operator actions on the ledger: grants, adjustments and refunds, with their caps and references."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from tollway.billing.domain.errors import (
    AlreadyRefundedError,
    InvalidInputError,
    LimitExceededError,
    NotRefundableError,
    RefundExceedsChargeError,
)
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
    amount_micros: int | None = None  # None: all that is left to refund
    reason: str = ""
    admin: str
    idempotency_key: str | None = None

    @property
    def fingerprint(self) -> str:
        return fingerprint("refund", self.transaction_id, {"amount_micros": self.amount_micros, "reason": self.reason})


def refund_reference(transaction_id: str, key: str | None, earlier_refunds: int) -> str:
    """Unique per refund: the operator's key, or (without one) the refund's number under the account lock."""
    return f"refund:{transaction_id}:" + (f"key:{key}" if key is not None else f"#{earlier_refunds + 1}")


def refundable_micros(charged_micros: int, refunded_micros: int) -> int:
    """What is left to refund of a charge: partial refunds together never exceed it."""
    return max(0, charged_micros - refunded_micros)


def refund_entry(usage: Posting, request: RefundRequest, refunded_micros: int = 0, earlier_refunds: int = 0) -> Entry:
    """Credit back (part of) one usage charge: only usage, and at most what is left of it after earlier refunds."""
    if usage.type != "usage":
        raise NotRefundableError(f"only usage transactions can be refunded, not {usage.type}", "transaction_id")
    remaining = refundable_micros(-usage.amount_micros, refunded_micros)
    if remaining == 0:
        raise AlreadyRefundedError(usage.id)
    amount = remaining if request.amount_micros is None else request.amount_micros
    if amount <= 0:
        raise InvalidInputError("a refund must be positive", "amount_micros")
    if amount > remaining:
        raise RefundExceedsChargeError(
            f"only {remaining} micro-USD of this charge is left to refund ({refunded_micros} already refunded)",
            "amount_micros",
        )
    return Entry(
        type="refund",
        amount_micros=amount,
        reference=refund_reference(usage.id, request.idempotency_key, earlier_refunds),
        description=request.reason or "refund",
        metadata={
            "refunded_transaction_id": usage.id,
            "request_id": usage.metadata.get("request_id"),
            "admin": request.admin,
        },
    )


MAX_BULK_ACCOUNTS = 100
MAX_USER_ID_LENGTH = 64  # billing.accounts.user_id


class BulkGrant(msgspec.Struct, frozen=True, kw_only=True):
    """The same grant to up to 100 accounts under one Idempotency-Key (one transaction for all of them)."""

    user_ids: list[str]
    amount_micros: int
    description: str
    idempotency_key: str
    admin: str

    @property
    def unique_user_ids(self) -> list[str]:
        """In the order asked, each once."""
        return list(dict.fromkeys(self.user_ids))

    @property
    def fingerprint(self) -> str:
        payload = {"amount_micros": self.amount_micros, "desc": self.description, "users": self.unique_user_ids}
        return fingerprint("bulk_grant", "", payload)

    def entry_for(self, user_id: str) -> Entry:
        return Entry(
            type="grant",
            amount_micros=self.amount_micros,
            reference=f"grant:{self.idempotency_key}:{user_id}",
            description=self.description,
            metadata={"admin": self.admin, "idempotency_key": self.idempotency_key, "bulk": True},
        )


class GrantOutcome(msgspec.Struct, frozen=True, kw_only=True):
    user_id: str
    status: Literal["granted", "failed"]
    transaction_id: str | None = None
    balance_after_micros: int | None = None
    error_code: str | None = None
    error_message: str | None = None


class BulkResult(msgspec.Struct, frozen=True, kw_only=True):
    status: Literal["success", "partial", "failed"]
    requested: int
    unique: int
    succeeded: int
    failed: int
    amount_micros: int
    total_micros: int
    results: list[GrantOutcome]


def check_bulk(bulk: BulkGrant, policy: BillingPolicy) -> None:
    """The whole request is refused when it cannot work for anyone: size, amount, per-grant cap."""
    if not 1 <= len(bulk.unique_user_ids) <= MAX_BULK_ACCOUNTS:
        raise InvalidInputError(f"user_ids must name 1-{MAX_BULK_ACCOUNTS} accounts", "user_ids")
    if bulk.amount_micros <= 0:
        raise InvalidInputError("a grant must be positive", "amount_micros")
    if bulk.amount_micros > policy.max_grant_micros:
        raise LimitExceededError(
            f"{usd_label(bulk.amount_micros)} exceeds the per-grant cap of {usd_label(policy.max_grant_micros)}",
            "amount_micros",
        )


def plan_bulk(
    bulk: BulkGrant, granted_today_micros: int, policy: BillingPolicy
) -> tuple[list[str], list[GrantOutcome]]:
    """Who gets the grant (in order, while the daily limit lasts) and who does not, with the reason."""
    granted, refused, total = [], [], granted_today_micros
    for user_id in bulk.unique_user_ids:
        if not 0 < len(user_id) <= MAX_USER_ID_LENGTH or not user_id.isprintable() or user_id.strip() != user_id:
            refused.append(_refused(user_id, "invalid_value", f"a user id is 1-{MAX_USER_ID_LENGTH} characters"))
        elif total + bulk.amount_micros > policy.admin_daily_limit_micros:
            left = max(0, policy.admin_daily_limit_micros - total)
            refused.append(_refused(user_id, "limit_exceeded", f"daily admin limit reached ({usd_label(left)} left)"))
        else:
            granted.append(user_id)
            total += bulk.amount_micros
    return granted, refused


def _refused(user_id: str, code: str, message: str) -> GrantOutcome:
    return GrantOutcome(user_id=user_id, status="failed", error_code=code, error_message=message)


def bulk_result(bulk: BulkGrant, outcomes: list[GrantOutcome]) -> BulkResult:
    succeeded = sum(o.status == "granted" for o in outcomes)
    failed = len(outcomes) - succeeded
    status: Literal["success", "partial", "failed"] = (
        "success" if failed == 0 else "failed" if succeeded == 0 else "partial"
    )
    return BulkResult(
        status=status,
        requested=len(bulk.user_ids),
        unique=len(outcomes),
        succeeded=succeeded,
        failed=failed,
        amount_micros=bulk.amount_micros,
        total_micros=succeeded * bulk.amount_micros,
        results=outcomes,
    )
