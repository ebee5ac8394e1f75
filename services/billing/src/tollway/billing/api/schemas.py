"""HTTP bodies: ``<Noun>In`` rejects unknown fields (no mass assignment); amounts are integer micro-USD."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec

from tollway.billing.domain.ledger import AccountState, Posting
from tollway.billing.domain.money import usd_decimal
from tollway.billing.domain.pages import Page

MAX_ABS_MICROS = 10**15  # $1 billion: far above any cap, far below bigint overflow
PositiveMicros = Annotated[int, msgspec.Meta(gt=0, le=MAX_ABS_MICROS)]
SignedMicros = Annotated[int, msgspec.Meta(ge=-MAX_ABS_MICROS, le=MAX_ABS_MICROS)]
Text = Annotated[str, msgspec.Meta(max_length=500)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
# What a user may see of a transaction's metadata (operators' names and keys stay internal).
PUBLIC_METADATA = frozenset(
    {"request_id", "api_key_id", "model", "prompt_tokens", "completion_tokens", "usage_estimated",
     "refunded_transaction_id", "trial_transaction_id"}
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
