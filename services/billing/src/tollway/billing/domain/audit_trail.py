"""Billing's audit trail: who among the operators granted, adjusted, refunded or made a coupon, read off the ledger."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

import msgspec

from tollway.billing.domain.pages import Position, encode_cursor

AuditAction = Literal["grant", "bulk_grant", "adjustment", "refund", "coupon_created"]
AUDIT_ACTIONS: tuple[AuditAction, ...] = ("grant", "bulk_grant", "adjustment", "refund", "coupon_created")
LEDGER_ACTIONS: frozenset[AuditAction] = frozenset({"grant", "bulk_grant", "adjustment", "refund"})
AUDIT_MAX_LIMIT = 200
AUDIT_DEFAULT_LIMIT = 50


class AuditQuery(msgspec.Struct, frozen=True, kw_only=True):
    limit: int = AUDIT_DEFAULT_LIMIT
    user_id: str | None = None  # the account acted on (a coupon's assigned user)
    actor: str | None = None  # the operator, as the gateway signed them (``admin-key:…``)
    action: AuditAction | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    after: Position | None = None

    @property
    def wants_ledger(self) -> bool:
        return self.action is None or self.action in LEDGER_ACTIONS

    @property
    def wants_coupons(self) -> bool:
        return self.action in (None, "coupon_created")


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One operator action; ``id`` is the transaction's or the coupon's, so every entry leads back to its row."""

    id: str
    at: datetime
    action: AuditAction
    actor: str
    user_id: str | None
    amount_micros: int | None
    description: str
    detail: dict[str, Any]


class AuditPage(msgspec.Struct, frozen=True):
    items: list[AuditEntry]
    next_cursor: str | None


def ledger_action(kind: str, metadata: dict[str, Any]) -> AuditAction:
    """Which operator action posted a grant, adjustment or refund (a bulk grant marks each of its postings)."""
    if kind == "grant":
        return "bulk_grant" if metadata.get("bulk") else "grant"
    return "refund" if kind == "refund" else "adjustment"


def ledger_detail(metadata: dict[str, Any]) -> dict[str, Any]:
    """What to show besides the actor: the keys that tie the posting to its request, never the whole metadata."""
    shown = ("idempotency_key", "refunded_transaction_id", "request_id")
    return {name: metadata[name] for name in shown if metadata.get(name) is not None}


def audit_page(rows: Sequence[AuditEntry], limit: int) -> AuditPage:
    """``rows`` holds up to ``limit + 1`` entries, newest first: the extra one only says a next page exists."""
    items = list(rows[:limit])
    more = len(rows) > limit and items
    return AuditPage(items, encode_cursor(Position(items[-1].at, items[-1].id)) if more else None)
