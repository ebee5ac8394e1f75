"""Use cases over in-memory fakes: usage settles once, accounts open once, operator actions are idempotent."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from tollway.billing import handlers
from tollway.billing.domain.admin import AdminCredit, RefundRequest
from tollway.billing.domain.errors import (
    AlreadyRefundedError,
    IdempotencyConflictError,
    LimitExceededError,
    NotFoundError,
    RefundExceedsChargeError,
)
from tollway.billing.domain.ledger import Posting
from tollway.billing.domain.pages import make_query
from tollway.billing.domain.policy import BillingPolicy
from tollway.contracts import CreditDebitedV1, CreditGrantedV1, RequestCompletedV1, UserRegisteredV1

if TYPE_CHECKING:
    from tests.unit.billing.conftest import FakeClock, InMemoryLedger, RecordingSink

POLICY = BillingPolicy(max_grant_micros=50_000_000, admin_daily_limit_micros=60_000_000)
USAGE, USERS = "billing__request_completed", "billing__user_registered"


def completed(request_id: str, cost: int, user_id: str = "u1", *, event_id: str | None = None) -> RequestCompletedV1:
    return RequestCompletedV1(
        event_id=event_id or request_id,
        request_id=request_id,
        user_id=user_id,
        account_id=None,
        api_key_id="key_1",
        is_anonymous=False,
        requested_model="m",
        provider="p",
        upstream_model="um",
        is_fallback=False,
        attempts=1,
        prompt_tokens=1,
        completion_tokens=1,
        cost_micros=cost,
    )


async def settle(
    events: list[RequestCompletedV1], ledger: InMemoryLedger, sink: RecordingSink, clock: FakeClock
) -> int:
    return await handlers.settle_usage(events, ledger, sink, consumer=USAGE, policy=POLICY, clock=clock)


async def register(user_id: str, ledger: InMemoryLedger, sink: RecordingSink, clock: FakeClock) -> int:
    event = UserRegisteredV1(event_id=f"reg-{user_id}", user_id=user_id)
    return await handlers.open_accounts([event], ledger, sink, consumer=USERS, policy=POLICY, clock=clock)


async def test_usage_settles_once_within_and_across_batches(
    ledger: InMemoryLedger, sink: RecordingSink, clock: FakeClock
) -> None:
    await register("u1", ledger, sink, clock)
    assert await settle([completed("r1", 100), completed("r1", 100), completed("r2", 50)], ledger, sink, clock) == 2
    assert await settle([completed("r2", 50), completed("r3", 25)], ledger, sink, clock) == 1
    # A republish under a new message id (after the duplicate window) carries the same request id.
    assert await settle([completed("r3", 25, event_id="r3-again")], ledger, sink, clock) == 0
    account = await ledger.account("u1")
    assert account is not None
    assert account.balance_micros == 5_000_000 - 175
    assert sink.latest["u1"].balance_micros == account.balance_micros
    debits = [e for e in ledger.state.outbox if isinstance(e, CreditDebitedV1)]
    assert sorted(d.request_id for d in debits) == ["r1", "r2", "r3"]


async def test_anonymous_and_free_events_are_claimed_without_a_debit(
    ledger: InMemoryLedger, sink: RecordingSink, clock: FakeClock
) -> None:
    free = completed("r1", 0)
    assert await settle([free], ledger, sink, clock) == 0
    assert (USAGE, "r1") in ledger.state.inbox
    assert ledger.state.accounts == {}


async def test_usage_before_registration_opens_the_account_and_the_trial_follows(
    ledger: InMemoryLedger, sink: RecordingSink, clock: FakeClock
) -> None:
    await settle([completed("r1", 700)], ledger, sink, clock)
    assert (await ledger.account("u1")).balance_micros == -700  # type: ignore[union-attr]
    assert await register("u1", ledger, sink, clock) == 1
    assert await register("u1", ledger, sink, clock) == 0  # redelivered
    account = await ledger.account("u1")
    assert account is not None
    assert (account.balance_micros, account.version) == (5_000_000 - 700, 2)
    assert account.trial_expires_at == clock.now + timedelta(days=3)
    assert [type(e) for e in ledger.state.outbox][:2] == [CreditDebitedV1, CreditGrantedV1]


async def test_trial_is_granted_once_even_under_a_new_event_id(
    ledger: InMemoryLedger, sink: RecordingSink, clock: FakeClock
) -> None:
    await register("u1", ledger, sink, clock)
    again = UserRegisteredV1(event_id="another", user_id="u1")
    assert await handlers.open_accounts([again], ledger, sink, consumer=USERS, policy=POLICY, clock=clock) == 0


def grant(amount: int = 1_000_000, key: str = "k1", kind: str = "grant") -> AdminCredit:
    return AdminCredit(
        kind=kind,  # type: ignore[arg-type]
        user_id="u1",
        amount_micros=amount,
        description="goodwill",
        idempotency_key=key,
        admin="ops",
    )


async def test_same_key_same_request_replays_the_first_transaction(
    ledger: InMemoryLedger, sink: RecordingSink, clock: FakeClock
) -> None:
    first, replayed = await handlers.credit_account(grant(), ledger, sink, POLICY, clock)
    again, replayed_again = await handlers.credit_account(grant(), ledger, sink, POLICY, clock)
    assert (replayed, replayed_again) == (False, True)
    assert again == first
    assert len(ledger.state.postings) == 1
    with pytest.raises(IdempotencyConflictError):
        await handlers.credit_account(grant(amount=2), ledger, sink, POLICY, clock)


async def test_daily_limit_spans_all_grants_of_the_utc_day(
    ledger: InMemoryLedger, sink: RecordingSink, clock: FakeClock
) -> None:
    await handlers.credit_account(grant(40_000_000, "a"), ledger, sink, POLICY, clock)
    with pytest.raises(LimitExceededError):
        await handlers.credit_account(grant(30_000_000, "b"), ledger, sink, POLICY, clock)
    assert "b" not in ledger.state.keys  # a refused request leaves no key behind: it may be retried
    clock.advance(timedelta(days=1))
    await handlers.credit_account(grant(30_000_000, "b"), ledger, sink, POLICY, clock)


async def test_negative_adjustment_cannot_break_the_overspend_bound(
    ledger: InMemoryLedger, sink: RecordingSink, clock: FakeClock
) -> None:
    posting, _ = await handlers.credit_account(grant(-1_000_000, "a", "adjustment"), ledger, sink, POLICY, clock)
    assert posting.balance_after_micros == -1_000_000
    with pytest.raises(LimitExceededError):
        await handlers.credit_account(grant(-1, "b", "adjustment"), ledger, sink, POLICY, clock)


async def test_refund_once(ledger: InMemoryLedger, sink: RecordingSink, clock: FakeClock) -> None:
    await settle([completed("r1", 400)], ledger, sink, clock)
    usage = ledger.state.postings[0]
    refund, _ = await handlers.refund_usage(
        RefundRequest(transaction_id=usage.id, admin="ops"), ledger, sink, POLICY, clock
    )
    assert (refund.amount_micros, refund.balance_after_micros) == (400, 0)
    with pytest.raises(AlreadyRefundedError):
        await handlers.refund_usage(RefundRequest(transaction_id=usage.id, admin="ops"), ledger, sink, POLICY, clock)
    with pytest.raises(NotFoundError):
        await handlers.refund_usage(RefundRequest(transaction_id="txn_x", admin="ops"), ledger, sink, POLICY, clock)


async def test_partial_refunds_sum_to_at_most_the_charge(
    ledger: InMemoryLedger, sink: RecordingSink, clock: FakeClock
) -> None:
    await settle([completed("r1", 400)], ledger, sink, clock)
    usage = ledger.state.postings[0]

    async def refund(amount: int | None, key: str | None = None) -> Posting:
        request = RefundRequest(transaction_id=usage.id, amount_micros=amount, admin="ops", idempotency_key=key)
        posting, _ = await handlers.refund_usage(request, ledger, sink, POLICY, clock)
        return posting

    assert (await refund(150, "a")).amount_micros == 150
    assert (await refund(150, "a")).amount_micros == 150  # the same key replays, no second refund
    with pytest.raises(RefundExceedsChargeError):
        await refund(251)
    assert (await refund(None)).amount_micros == 250  # the rest
    with pytest.raises(AlreadyRefundedError):
        await refund(1)
    assert sum(p.amount_micros for p in ledger.state.postings if p.type == "refund") == 400


async def test_expired_trial_loses_only_its_unspent_part(
    ledger: InMemoryLedger, sink: RecordingSink, clock: FakeClock
) -> None:
    await register("u1", ledger, sink, clock)
    await handlers.credit_account(grant(10_000_000), ledger, sink, POLICY, clock)
    await settle([completed("r1", 3_000_000)], ledger, sink, clock)
    assert await handlers.expire_trials(ledger, sink, POLICY, clock) == 0  # not yet
    clock.advance(timedelta(days=3))
    assert await handlers.expire_trials(ledger, sink, POLICY, clock) == 1
    assert await handlers.expire_trials(ledger, sink, POLICY, clock) == 0
    account = await ledger.account("u1")
    assert account is not None
    assert (account.balance_micros, account.trial_expires_at) == (10_000_000, None)
    assert ledger.state.postings[-1].amount_micros == -2_000_000


async def test_transactions_page_newest_first_with_filters(
    ledger: InMemoryLedger, sink: RecordingSink, clock: FakeClock
) -> None:
    await register("u1", ledger, sink, clock)
    for i in range(5):
        clock.advance(timedelta(seconds=1))
        await settle([completed(f"r{i}", 10)], ledger, sink, clock)
    query = make_query(limit=2, type_="usage", since=None, until=None, cursor=None)
    first = await handlers.list_transactions("u1", query, ledger)
    assert [p.metadata["request_id"] for p in first.items] == ["r4", "r3"]
    rest = make_query(limit=10, type_="usage", since=None, until=None, cursor=first.next_cursor)
    second = await handlers.list_transactions("u1", rest, ledger)
    assert [p.metadata["request_id"] for p in second.items] == ["r2", "r1", "r0"]
    assert second.next_cursor is None
    assert (await handlers.list_transactions("nobody", query, ledger)).items == []


async def test_resync_publishes_every_account(ledger: InMemoryLedger, sink: RecordingSink, clock: FakeClock) -> None:
    for user in ("a", "b", "c"):
        await register(user, ledger, sink, clock)
    fresh = type(sink)()
    assert await handlers.resync_balances(ledger, fresh, page_size=2) == 3
    assert set(fresh.latest) == {"a", "b", "c"}
    report = await handlers.verify_ledger(ledger, POLICY)
    assert report.passed, report.render()
