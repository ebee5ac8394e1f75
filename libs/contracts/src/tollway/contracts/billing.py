"""Events published by billing: the credit stream the billing team consumes (amounts in micro-USD)."""

from __future__ import annotations

from typing import Literal

from tollway.contracts.base import Event

GrantKind = Literal["trial", "grant", "purchase", "refund", "adjustment", "coupon"]
DeductionKind = Literal["adjustment", "expiry"]


class CreditDebitedV1(Event, frozen=True, kw_only=True, tag="billing.credit.debited.v1"):
    """A usage event was charged once; ``request_id`` links it to ``router.request.completed.v1``."""

    account_id: str
    user_id: str
    request_id: str
    transaction_id: str
    amount_micros: int
    balance_after_micros: int
    account_seq: int = 0  # the transaction's number in its account (1, 2, 3, ...): ordering and gap detection


class CreditGrantedV1(Event, frozen=True, kw_only=True, tag="billing.credit.granted.v1"):
    """Credit was added (trial, grant, purchase, refund, positive adjustment, coupon)."""

    account_id: str
    user_id: str
    transaction_id: str
    kind: GrantKind
    amount_micros: int
    balance_after_micros: int
    reference: str
    account_seq: int = 0  # the transaction's number in its account (1, 2, 3, ...): ordering and gap detection


class CreditDeductedV1(Event, frozen=True, kw_only=True, tag="billing.credit.deducted.v1"):
    """Credit was removed other than by usage: a negative adjustment, or unused trial credit expiring.

    ``amount_micros`` is negative, like the ledger transaction it reports.
    """

    account_id: str
    user_id: str
    transaction_id: str
    kind: DeductionKind
    amount_micros: int
    balance_after_micros: int
    reference: str
    account_seq: int = 0  # the transaction's number in its account (1, 2, 3, ...)


class BalanceLowV1(Event, frozen=True, kw_only=True, tag="billing.balance.low.v1"):
    """The balance crossed below the low-balance threshold."""

    account_id: str
    user_id: str
    balance_micros: int
    threshold_micros: int


class BalanceExhaustedV1(Event, frozen=True, kw_only=True, tag="billing.balance.exhausted.v1"):
    """The balance reached zero or below; the gateway's credit gate now refuses paid requests."""

    account_id: str
    user_id: str
    balance_micros: int


class CouponRedeemedV1(Event, frozen=True, kw_only=True, tag="billing.coupon.redeemed.v1"):
    """A user redeemed a coupon; its credit is the ``coupon`` transaction ``transaction_id`` (in credit.granted too)."""

    coupon_id: str
    coupon_code: str
    redemption_id: str
    account_id: str
    user_id: str
    transaction_id: str
    value_micros: int
    balance_after_micros: int


BudgetWindow = Literal["day", "month"]


class BudgetExceededV1(Event, frozen=True, kw_only=True, tag="billing.budget.exceeded.v1"):
    """An API key's recorded spend in one UTC day or month reached its limit: once per key, window and period.

    ``period`` names the window like the gateway's ``GET /v1/keys/{id}/spend`` (``20261203``, ``202612``);
    ``spent_micros`` is the key's spend in the period including ``transaction_id``, the debit that reached it.
    """

    api_key_id: str
    account_id: str
    user_id: str
    window: BudgetWindow
    period: str
    limit_micros: int
    spent_micros: int
    transaction_id: str
