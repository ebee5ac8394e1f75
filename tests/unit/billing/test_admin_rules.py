"""Operator actions: caps, the daily limit, the overspend bound, refunds and idempotency fingerprints."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tollway.billing.domain import admin
from tollway.billing.domain.errors import (
    IdempotencyConflictError,
    InvalidInputError,
    LimitExceededError,
    MissingIdempotencyKeyError,
    NotRefundableError,
    RefundExceedsChargeError,
)
from tollway.billing.domain.idempotency import StoredResponse, fingerprint, replay, require_key
from tollway.billing.domain.ledger import Posting
from tollway.billing.domain.policy import BillingPolicy

POLICY = BillingPolicy(max_grant_micros=100, admin_daily_limit_micros=250, overspend_bound_micros=10)
NOW = datetime(2026, 11, 23, 15, 30, tzinfo=UTC)


def credit(kind: admin.AdminCreditKind = "grant", amount: int = 50, key: str = "k1") -> admin.AdminCredit:
    return admin.AdminCredit(
        kind=kind, user_id="u1", amount_micros=amount, description="d", idempotency_key=key, admin="ops"
    )


def test_grant_entry_is_referenced_by_the_idempotency_key() -> None:
    entry = credit().entry()
    assert (entry.type, entry.amount_micros, entry.reference) == ("grant", 50, "grant:k1")
    assert entry.metadata == {"admin": "ops", "idempotency_key": "k1"}


@pytest.mark.parametrize(
    ("kind", "amount", "error"),
    [
        ("grant", 0, InvalidInputError),
        ("grant", -5, InvalidInputError),
        ("adjustment", 0, InvalidInputError),
        ("grant", 101, LimitExceededError),
        ("adjustment", -101, LimitExceededError),
    ],
)
def test_amount_rules(kind: admin.AdminCreditKind, amount: int, error: type[Exception]) -> None:
    with pytest.raises(error):
        admin.check_amount(credit(kind, amount), POLICY)


def test_amounts_within_the_cap_pass() -> None:
    admin.check_amount(credit("grant", 100), POLICY)
    admin.check_amount(credit("adjustment", -100), POLICY)


def test_daily_limit_counts_what_was_granted_today() -> None:
    admin.check_daily_limit(200, 50, POLICY)
    with pytest.raises(LimitExceededError, match="daily limit") as caught:
        admin.check_daily_limit(200, 51, POLICY)
    assert caught.value.param == "amount_micros"
    assert admin.utc_day_start(NOW) == datetime(2026, 11, 23, tzinfo=UTC)


def test_overspend_bound() -> None:
    admin.check_overspend(-10, POLICY)
    with pytest.raises(LimitExceededError, match="overspend bound"):
        admin.check_overspend(-11, POLICY)


def charge(kind: str = "usage", amount: int = -300) -> Posting:
    return Posting(
        id="txn_1",
        account_id="acc_1",
        user_id="u1",
        seq=1,
        type=kind,  # type: ignore[arg-type]
        amount_micros=amount,
        balance_after_micros=0,
        reference="usage:r1",
        description="",
        metadata={"request_id": "r1"},
        created_at=NOW,
    )


def test_refund_defaults_to_the_whole_charge() -> None:
    entry = admin.refund_entry(charge(), admin.RefundRequest(transaction_id="txn_1", admin="ops"))
    assert (entry.type, entry.amount_micros, entry.reference) == ("refund", 300, "refund:txn_1:#1")
    assert entry.metadata["request_id"] == "r1"


def test_refund_rules() -> None:
    with pytest.raises(NotRefundableError):
        admin.refund_entry(charge("grant", 300), admin.RefundRequest(transaction_id="txn_1", admin="ops"))
    with pytest.raises(RefundExceedsChargeError):
        admin.refund_entry(charge(), admin.RefundRequest(transaction_id="txn_1", amount_micros=301, admin="ops"))
    partial = admin.refund_entry(charge(), admin.RefundRequest(transaction_id="txn_1", amount_micros=5, admin="o"))
    assert partial.amount_micros == 5


def test_fingerprint_is_canonical() -> None:
    assert fingerprint("grant", "u1", {"a": 1, "b": 2}) == fingerprint("grant", "u1", {"b": 2, "a": 1})
    assert fingerprint("grant", "u1", {"a": 1}) != fingerprint("grant", "u2", {"a": 1})
    assert credit().fingerprint == credit().fingerprint != credit(amount=51).fingerprint


def test_replay_returns_the_body_only_for_the_same_request() -> None:
    stored = StoredResponse("fp", b"{}")
    assert replay(stored, "fp") == b"{}"
    with pytest.raises(IdempotencyConflictError):
        replay(stored, "other")


@pytest.mark.parametrize("key", [None, "", "   ", "x" * 256, "tab\tkey"])
def test_idempotency_key_is_required_and_bounded(key: str | None) -> None:
    with pytest.raises(InvalidInputError) as caught:
        require_key(key)
    assert caught.value.param == "Idempotency-Key"
    assert isinstance(caught.value, MissingIdempotencyKeyError) == (key is None or not key.strip())
