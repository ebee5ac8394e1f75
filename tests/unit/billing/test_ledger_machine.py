"""Hypothesis state machine over the real use cases and an in-memory ledger: every step keeps the invariants."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Coroutine
from contextlib import suppress
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from tollway.billing import handlers
from tollway.billing.domain.admin import AdminCredit, RefundRequest
from tollway.billing.domain.errors import BillingError
from tollway.billing.domain.policy import BillingPolicy
from tollway.contracts import RequestCompletedV1, UserRegisteredV1

if TYPE_CHECKING:
    from tests.unit.billing.conftest import FakeClock, InMemoryLedger, RecordingSink

T = TypeVar("T")
USERS = ("u0", "u1", "u2")
REQUESTS = 40
POLICY = BillingPolicy(
    trial_micros=50_000, max_grant_micros=100_000, admin_daily_limit_micros=300_000, overspend_bound_micros=20_000
)


def request(i: int, event_id: str | None = None) -> RequestCompletedV1:
    """Request ``i`` always has the same user and cost, however often and under whatever id it is delivered."""
    return RequestCompletedV1(
        event_id=event_id or f"r{i}",
        request_id=f"r{i}",
        user_id=USERS[i % len(USERS)],
        account_id=None,
        api_key_id="k",
        is_anonymous=i % 11 == 5,
        requested_model="m",
        provider="p",
        upstream_model="um",
        is_fallback=False,
        attempts=1,
        prompt_tokens=1,
        completion_tokens=1,
        cost_micros=0 if i % 7 == 3 else (i * 7919) % 9_000 + 1,
    )


def chargeable(i: int) -> bool:
    event = request(i)
    return not event.is_anonymous and event.cost_micros > 0


class LedgerMachine(RuleBasedStateMachine):
    classes: tuple[type[InMemoryLedger], type[RecordingSink], type[FakeClock]]

    def __init__(self) -> None:
        super().__init__()
        ledger_type, sink_type, clock_type = self.classes
        self.ledger, self.sink, self.clock = ledger_type(), sink_type(), clock_type()
        self.loop = asyncio.new_event_loop()
        self.delivered: set[int] = set()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coroutine)

    def teardown(self) -> None:
        self.loop.close()

    @rule(batch=st.lists(st.integers(0, REQUESTS - 1), min_size=1, max_size=8), republish=st.booleans())
    def deliver_usage(self, batch: list[int], republish: bool) -> None:
        """Batches with duplicates, in any order, some redelivered under a new message id."""
        events = [request(i, f"r{i}-again" if republish else None) for i in batch]
        self.run(
            handlers.settle_usage(events, self.ledger, self.sink, consumer="usage", policy=POLICY, clock=self.clock)
        )
        self.delivered.update(batch)

    @rule(user=st.sampled_from(USERS), redelivery=st.booleans())
    def register(self, user: str, redelivery: bool) -> None:
        event = UserRegisteredV1(event_id=f"reg-{user}{'-2' if redelivery else ''}", user_id=user)
        self.run(
            handlers.open_accounts([event], self.ledger, self.sink, consumer="users", policy=POLICY, clock=self.clock)
        )

    @rule(
        user=st.sampled_from(USERS),
        key=st.sampled_from(["k1", "k2", "k3", "k4"]),
        amount=st.integers(-30_000, 120_000),
        kind=st.sampled_from(["grant", "adjustment"]),
    )
    def admin_credit(self, user: str, key: str, amount: int, kind: str) -> None:
        credit = AdminCredit(
            kind=kind,  # type: ignore[arg-type]
            user_id=user,
            amount_micros=amount,
            description="",
            idempotency_key=f"{key}-{self.clock.now.date()}",
            admin="ops",
        )
        with suppress(BillingError):  # caps, the daily limit, the overspend bound and key conflicts refuse cleanly
            self.run(handlers.credit_account(credit, self.ledger, self.sink, POLICY, self.clock))

    @rule(pick=st.integers(0, 1_000), amount=st.none() | st.integers(-5, 2_000_000))
    def refund(self, pick: int, amount: int | None) -> None:
        usage = [p for p in self.ledger.state.postings if p.type == "usage"]
        if not usage:
            return
        target = usage[pick % len(usage)]
        refund = RefundRequest(transaction_id=target.id, amount_micros=amount, admin="ops")
        with suppress(BillingError):  # nothing left to refund, or more than is left
            self.run(handlers.refund_usage(refund, self.ledger, self.sink, POLICY, self.clock))

    @rule(hours=st.integers(1, 48))
    def time_passes_and_trials_expire(self, hours: int) -> None:
        self.clock.advance(timedelta(hours=hours))
        self.run(handlers.expire_trials(self.ledger, self.sink, POLICY, self.clock))

    @invariant()
    def balance_is_the_sum_of_transactions_in_order(self) -> None:
        for user, account in self.ledger.state.accounts.items():
            postings = self.ledger.postings_of(user)
            assert [p.seq for p in postings] == list(range(1, len(postings) + 1))
            running = 0
            for posting in postings:
                running += posting.amount_micros
                assert posting.balance_after_micros == running
            assert account.balance_micros == running
            assert account.version == len(postings)
            published = self.sink.latest.get(user)
            assert published is None or published.version == account.version

    @invariant()
    def each_request_is_settled_once_at_its_cost(self) -> None:
        usage = [p for p in self.ledger.state.postings if p.type == "usage"]
        counts = Counter(p.metadata["request_id"] for p in usage)
        assert set(counts.values()) <= {1}
        assert set(counts) == {f"r{i}" for i in self.delivered if chargeable(i)}
        for posting in usage:
            assert posting.amount_micros == -request(int(posting.metadata["request_id"][1:])).cost_micros

    @invariant()
    def refunds_never_exceed_their_charge(self) -> None:
        refunded: Counter[str] = Counter()
        for p in self.ledger.state.postings:
            if p.type == "refund":
                assert p.amount_micros > 0
                refunded[p.metadata["refunded_transaction_id"]] += p.amount_micros
        charges = {p.id: -p.amount_micros for p in self.ledger.state.postings if p.type == "usage"}
        assert all(total <= charges[txn] for txn, total in refunded.items())


def test_ledger_state_machine(
    fakes: tuple[type[InMemoryLedger], type[RecordingSink], type[FakeClock]],
) -> None:
    LedgerMachine.classes = fakes
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=300, stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
        ),
    )
