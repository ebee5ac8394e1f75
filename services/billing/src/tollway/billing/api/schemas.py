"""HTTP bodies: ``<Noun>In`` rejects unknown fields (no mass assignment); amounts are integer micro-USD."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec

from tollway.billing.domain.ledger import AccountState, Posting
from tollway.billing.domain.money import usd_decimal
from tollway.billing.domain.pages import Page
from tollway.billing.domain.reports import TrialAnalytics
from tollway.billing.domain.statements import Statement

MAX_ABS_MICROS = 10**15  # $1 billion: far above any cap, far below bigint overflow
PositiveMicros = Annotated[int, msgspec.Meta(gt=0, le=MAX_ABS_MICROS)]
SignedMicros = Annotated[int, msgspec.Meta(ge=-MAX_ABS_MICROS, le=MAX_ABS_MICROS)]
Text = Annotated[str, msgspec.Meta(max_length=500)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
# What a user may see of a transaction's metadata (operators' names and keys stay internal).
PUBLIC_METADATA = frozenset(
    {"request_id", "api_key_id", "model", "prompt_tokens", "completion_tokens", "usage_estimated",
     "refunded_transaction_id", "trial_transaction_id", "coupon_id", "coupon_code"}
)  # fmt: skip


class GrantIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    amount_micros: PositiveMicros
    description: Text = ""


class AdjustmentIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    amount_micros: SignedMicros
    description: Reason  # an adjustment must say why


class RefundIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    amount_micros: PositiveMicros | None = None  # default: the whole charge
    reason: Text = ""


class TransactionOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    type: str
    amount_micros: int
    amount_usd: str
    balance_after_micros: int
    reference: str
    description: str
    metadata: dict[str, Any]
    created_at: datetime
    expires_at: datetime | None
    object: str = "credit_transaction"

    @classmethod
    def of(cls, p: Posting, *, public: bool = False) -> TransactionOut:
        metadata = {k: v for k, v in p.metadata.items() if k in PUBLIC_METADATA} if public else p.metadata
        return cls(
            id=p.id,
            type=p.type,
            amount_micros=p.amount_micros,
            amount_usd=usd_decimal(p.amount_micros),
            balance_after_micros=p.balance_after_micros,
            reference=p.reference,
            description=p.description,
            metadata=metadata,
            created_at=p.created_at,
            expires_at=p.expires_at,
        )


class TransactionListOut(msgspec.Struct, frozen=True, kw_only=True):
    data: list[TransactionOut]
    has_more: bool
    next_cursor: str | None
    object: str = "list"

    @classmethod
    def of(cls, page: Page) -> TransactionListOut:
        data = [TransactionOut.of(p, public=True) for p in page.items]
        return cls(data=data, has_more=page.next_cursor is not None, next_cursor=page.next_cursor)


class BalanceOut(msgspec.Struct, frozen=True, kw_only=True):
    user_id: str
    account_id: str | None
    balance_micros: int
    balance_usd: str
    currency: str = "USD"
    trial_expires_at: datetime | None = None
    object: str = "credit_balance"

    @classmethod
    def of(cls, user_id: str, account: AccountState | None) -> BalanceOut:
        balance = 0 if account is None else account.balance_micros
        return cls(
            user_id=user_id,
            account_id=None if account is None else account.id,
            balance_micros=balance,
            balance_usd=usd_decimal(balance),
            trial_expires_at=None if account is None else account.trial_expires_at,
        )


class AdminTransactionOut(TransactionOut, frozen=True, kw_only=True):
    """An operator sees whose transaction it is, and all of its metadata."""

    user_id: str
    account_id: str
    seq: int

    @classmethod
    def of(cls, p: Posting, *, public: bool = False) -> AdminTransactionOut:
        base = TransactionOut.of(p, public=public)
        fields = {name: getattr(base, name) for name in base.__struct_fields__}
        return cls(**fields, user_id=p.user_id, account_id=p.account_id, seq=p.seq)


class AdminTransactionListOut(msgspec.Struct, frozen=True, kw_only=True):
    data: list[AdminTransactionOut]
    has_more: bool
    next_cursor: str | None
    object: str = "list"


UserIds = Annotated[list[Annotated[str, msgspec.Meta(max_length=200)]], msgspec.Meta(min_length=1, max_length=1000)]


class BulkGrantIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    user_ids: UserIds  # at most 100 distinct ones (duplicates are dropped first)
    amount_micros: PositiveMicros
    description: Text = ""


class StatementOut(msgspec.Struct, frozen=True, kw_only=True):
    user_id: str
    account_id: str | None
    month: str
    period_start: datetime
    period_end: datetime
    opening_balance_micros: int
    opening_balance_usd: str
    closing_balance_micros: int
    closing_balance_usd: str
    credits_micros: int
    debits_micros: int
    totals_by_type: dict[str, int]
    reconciled: bool
    transactions: list[TransactionOut]
    object: str = "statement"

    @classmethod
    def of(cls, s: Statement) -> StatementOut:
        return cls(
            user_id=s.user_id,
            account_id=s.account_id,
            month=s.month,
            period_start=s.period_start,
            period_end=s.period_end,
            opening_balance_micros=s.opening_balance_micros,
            opening_balance_usd=usd_decimal(s.opening_balance_micros),
            closing_balance_micros=s.closing_balance_micros,
            closing_balance_usd=usd_decimal(s.closing_balance_micros),
            credits_micros=s.credits_micros,
            debits_micros=s.debits_micros,
            totals_by_type=s.totals_by_type,
            reconciled=s.reconciled,
            transactions=[TransactionOut.of(p) for p in s.transactions],
        )


class TrialAnalyticsOut(msgspec.Struct, frozen=True, kw_only=True):
    total_trials: int
    active_trials: int
    expired_trials: int
    converted_trials: int
    conversion_rate: float  # converted / total, 0..1 (4 decimals)
    trials_with_usage: int
    trial_credit_granted_micros: int
    trial_credit_used_micros: int
    trial_credit_expired_micros: int
    average_usage_per_trial_micros: int
    requests_in_trials: int

    @classmethod
    def of(cls, t: TrialAnalytics) -> TrialAnalyticsOut:
        return cls(
            total_trials=t.total,
            active_trials=t.active,
            expired_trials=t.expired,
            converted_trials=t.converted,
            conversion_rate=round(t.converted / t.total, 4) if t.total else 0.0,
            trials_with_usage=t.with_usage,
            trial_credit_granted_micros=t.granted_micros,
            trial_credit_used_micros=t.used_micros,
            trial_credit_expired_micros=t.expired_micros,
            average_usage_per_trial_micros=t.used_micros // t.total if t.total else 0,
            requests_in_trials=t.requests,
        )
