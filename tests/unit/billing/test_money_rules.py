"""Properties of the money rules: refund caps, statement reconciliation, bulk-grant limits, coupon checks."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tollway.billing.domain import admin
from tollway.billing.domain.coupons import (
    Coupon,
    CouponDraft,
    CouponPatch,
    Eligibility,
    apply_patch,
    check_redeemable,
    new_coupon,
    normalize_code,
)
from tollway.billing.domain.errors import (
    AlreadyRefundedError,
    BillingError,
    CouponAlreadyRedeemedError,
    CouponNotFoundError,
    CouponRefusedError,
    InvalidInputError,
    RefundExceedsChargeError,
)
from tollway.billing.domain.ledger import AccountState, Entry, Posting, post
from tollway.billing.domain.policy import BillingPolicy
from tollway.billing.domain.statements import build_statement, month_bounds, statement_csv

NOW = datetime(2026, 11, 15, 12, tzinfo=UTC)
POLICY = BillingPolicy(max_grant_micros=50_000_000, admin_daily_limit_micros=60_000_000)


def charge(amount: int) -> Posting:
    return Posting(
        id="txn_u", account_id="acc_1", user_id="u1", seq=1, type="usage", amount_micros=-amount,
        balance_after_micros=-amount, reference="usage:r1", description="", metadata={"request_id": "r1"},
        created_at=NOW,
    )  # fmt: skip


@given(charged=st.integers(1, 10**9), asks=st.lists(st.none() | st.integers(-10, 10**9), max_size=12))
def test_refunds_of_one_charge_never_sum_past_it(charged: int, asks: list[int | None]) -> None:
    refunded, count = 0, 0
    for ask in asks:
        request = admin.RefundRequest(transaction_id="txn_u", amount_micros=ask, admin="ops")
        left = charged - refunded
        try:
            entry = admin.refund_entry(charge(charged), request, refunded, count)
        except AlreadyRefundedError:
            assert left == 0
            continue
        except RefundExceedsChargeError:
            assert ask is not None
            assert ask > left > 0
            continue
        except InvalidInputError:
            assert ask is not None
            assert ask <= 0
            continue
        assert 0 < entry.amount_micros <= left
        assert entry.amount_micros == (left if ask is None else ask)
        assert entry.reference == f"refund:txn_u:#{count + 1}"
        refunded, count = refunded + entry.amount_micros, count + 1
    assert 0 <= refunded <= charged


def _ledger(amounts: list[int], days: list[int]) -> list[Posting]:
    """A posted ledger whose transactions fall on increasing days from the start of October."""
    start, entries = datetime(2026, 10, 1, tzinfo=UTC), []
    account, postings = AccountState(id="acc_1", user_id="u1"), []
    for i, (amount, day) in enumerate(zip(amounts, sorted(days), strict=False)):
        entries = [Entry(type="adjustment", amount_micros=amount, reference=f"a{i}")]
        account, posted = post(account, entries, start + timedelta(days=day, minutes=i))
        postings += posted
    return postings


@given(
    amounts=st.lists(st.integers(-(10**8), 10**8).filter(bool), min_size=0, max_size=40),
    days=st.lists(st.integers(0, 120), min_size=40, max_size=40),
)
def test_monthly_statements_chain_and_reconcile_with_the_ledger(amounts: list[int], days: list[int]) -> None:
    postings = _ledger(amounts, days)
    balance_now = postings[-1].balance_after_micros if postings else 0
    opening = 0
    for month in ("2026-10", "2026-11", "2026-12", "2027-01", "2027-02"):
        start, end = month_bounds(month)
        inside = [p for p in postings if start <= p.created_at < end]
        statement = build_statement(user_id="u1", account_id="acc_1", month=month, opening_micros=opening,
                                    postings=inside)  # fmt: skip
        assert statement.reconciled
        assert statement.closing_balance_micros == opening + sum(p.amount_micros for p in inside)
        assert statement.credits_micros + statement.debits_micros == sum(statement.totals_by_type.values())
        rows = list(csv.DictReader(io.StringIO(statement_csv(statement))))
        assert int(rows[0]["balance_after_micros"]) == opening
        assert int(rows[-1]["balance_after_micros"]) == statement.closing_balance_micros
        assert sum(int(r["amount_micros"]) for r in rows[1:-1]) == statement.closing_balance_micros - opening
        opening = statement.closing_balance_micros  # next month opens where this one closed
    assert opening == balance_now


def test_a_statement_with_a_missing_transaction_is_not_reconciled() -> None:
    postings = _ledger([5, -2, 7], [1, 2, 3])
    statement = build_statement(user_id="u1", account_id="acc_1", month="2026-10", opening_micros=0,
                                postings=[postings[0], postings[2]])  # fmt: skip
    assert not statement.reconciled


@given(
    users=st.lists(st.sampled_from([f"u{i}" for i in range(30)] + ["", " padded", "x" * 65]), min_size=1, max_size=60),
    amount=st.integers(1, 50_000_000),
    today=st.integers(0, 60_000_000),
)
def test_bulk_grants_stay_within_the_daily_limit(users: list[str], amount: int, today: int) -> None:
    bulk = admin.BulkGrant(user_ids=users, amount_micros=amount, description="", idempotency_key="k", admin="ops")
    granted, refused = admin.plan_bulk(bulk, today, POLICY)
    assert len(granted) == len(set(granted))
    assert sorted(granted + [r.user_id for r in refused]) == sorted(set(users))
    assert today + amount * len(granted) <= max(today, POLICY.admin_daily_limit_micros)
    if any(r.error_code == "limit_exceeded" for r in refused):
        assert today + amount * (len(granted) + 1) > POLICY.admin_daily_limit_micros


def coupon(**fields: object) -> Coupon:
    draft = CouponDraft(**{"code": "WELCOME", "value_micros": 1_000_000, **fields})  # type: ignore[arg-type]
    return new_coupon(draft, POLICY, "ops", NOW - timedelta(days=1))


FRESH = Eligibility(already_redeemed=False, has_paid_credit=False)


def test_codes_are_normalised_and_never_stripped_of_inner_characters() -> None:
    assert normalize_code("  spring-25 ") == "SPRING-25"
    for bad in ("ab", "a b", "x" * 51, "café", "a;b"):
        with pytest.raises(InvalidInputError):
            normalize_code(bad)


def test_redemption_refusals_in_order() -> None:
    assert check_redeemable(coupon(), "u1", FRESH, NOW).code == "WELCOME"
    with pytest.raises(CouponNotFoundError):
        check_redeemable(None, "u1", FRESH, NOW)
    with pytest.raises(CouponNotFoundError):  # someone else's coupon does not exist for you
        check_redeemable(coupon(scope="user_specific", assigned_user_id="u2"), "u1", FRESH, NOW)
    with pytest.raises(CouponAlreadyRedeemedError):
        check_redeemable(coupon(), "u1", Eligibility(already_redeemed=True, has_paid_credit=False), NOW)
    used_up = apply_patch(coupon(max_uses=1), CouponPatch(description="x"), NOW)
    cases = [
        (apply_patch(coupon(), CouponPatch(is_active=False), NOW), FRESH, "coupon_inactive"),
        (coupon(valid_until=NOW - timedelta(hours=1)), FRESH, "coupon_expired"),
        (coupon(valid_from=NOW + timedelta(hours=1)), FRESH, "coupon_not_yet_valid"),
        (Coupon(**{**{f: getattr(used_up, f) for f in used_up.__struct_fields__}, "times_used": 1}), FRESH,
         "coupon_exhausted"),
        (coupon(scope="first_purchase"), Eligibility(already_redeemed=False, has_paid_credit=True),
         "coupon_not_eligible"),
    ]  # fmt: skip
    for refused, eligibility, code in cases:
        with pytest.raises(CouponRefusedError) as caught:
            check_redeemable(refused, "u1", eligibility, NOW)
        assert caught.value.code == code


@given(times_used=st.integers(0, 10), max_uses=st.none() | st.integers(1, 20))
def test_patching_max_uses_never_goes_below_the_uses(times_used: int, max_uses: int | None) -> None:
    base = coupon(max_uses=20)
    used = Coupon(**{**{f: getattr(base, f) for f in base.__struct_fields__}, "times_used": times_used})
    try:
        patched = apply_patch(used, CouponPatch(max_uses=max_uses), NOW)
    except BillingError:
        assert max_uses is not None
        assert max_uses < times_used
    else:
        assert patched.remaining_uses is None or patched.remaining_uses >= 0
