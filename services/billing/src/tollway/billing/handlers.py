"""Use cases of billing, one async function each; they depend on ``ports`` only."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from tollway.billing.domain import admin, idempotency
from tollway.billing.domain.audit import AuditReport
from tollway.billing.domain.errors import AlreadyRefundedError, ConflictError, NotFoundError
from tollway.billing.domain.ledger import AccountState, Entry, Posting, Settlement, settle
from tollway.billing.domain.notifications import events_for
from tollway.billing.domain.pages import Page, TransactionQuery, page_of
from tollway.billing.domain.policy import BillingPolicy
from tollway.billing.domain.trial import expiry_entry, trial_entry, trial_reference, unused_trial_micros
from tollway.billing.domain.usage import charges_from
from tollway.billing.ports import BalanceSink, Clock, Ledger, LedgerSession
from tollway.contracts import RequestCompletedV1, UserRegisteredV1

_posting_json = msgspec.json.Encoder()
_posting_decoder = msgspec.json.Decoder(Posting)


async def settle_usage(
    events: Sequence[RequestCompletedV1],
    ledger: Ledger,
    sink: BalanceSink,
    *,
    consumer: str,
    policy: BillingPolicy,
    clock: Clock,
) -> int:
    """Debit each usage event once (inbox + unique reference), a whole batch in one transaction."""
    async with ledger.session() as s:
        new = await s.claim_events(consumer, [e.event_id for e in events])
        charges = charges_from([e for e in events if e.event_id in new])
        accounts = await s.lock_accounts({c.user_id for c in charges}) if charges else {}
        posted = await s.known_references([c.entry.reference for c in charges]) if charges else set()
        entries = [(c.user_id, c.entry) for c in charges if c.entry.reference not in posted]
        settlement = await _apply(s, accounts, entries, policy, clock)
        await s.commit()
    await sink.publish(settlement.snapshots())
    return len(settlement.postings)


async def open_accounts(
    events: Sequence[UserRegisteredV1],
    ledger: Ledger,
    sink: BalanceSink,
    *,
    consumer: str,
    policy: BillingPolicy,
    clock: Clock,
) -> int:
    """Open each new user's account and grant the trial once, whether or not their usage arrived first."""
    async with ledger.session() as s:
        new = await s.claim_events(consumer, [e.event_id for e in events])
        fresh = [e for e in events if e.event_id in new]
        accounts = await s.lock_accounts({e.user_id for e in fresh}) if fresh else {}
        eligible = {e.user_id for e in fresh if e.is_trial_eligible and policy.trial_micros > 0}
        granted = await s.known_references([trial_reference(u) for u in eligible]) if eligible else set()
        now = clock()
        entries = [
            (u, trial_entry(u, policy.trial_micros, policy.trial_days, now))
            for u in sorted(eligible)
            if trial_reference(u) not in granted
        ]
        settlement = await _apply(s, accounts, entries, policy, clock)
        await s.commit()
    await sink.publish(settlement.snapshots())
    return len(settlement.postings)


async def credit_account(
    credit: admin.AdminCredit, ledger: Ledger, sink: BalanceSink, policy: BillingPolicy, clock: Clock
) -> tuple[Posting, bool]:
    """A grant or adjustment exactly once per Idempotency-Key; returns the transaction and whether it is a replay."""
    admin.check_amount(credit, policy)
    async with ledger.session() as s:
        stored = await s.claim_key(credit.idempotency_key, credit.fingerprint)
        if stored is not None:
            return _posting_decoder.decode(idempotency.replay(stored, credit.fingerprint)), True
        if credit.amount_micros > 0:
            today = await s.admin_credit_since(admin.utc_day_start(clock()))
            admin.check_daily_limit(today, credit.amount_micros, policy)
        entry = credit.entry()
        if await s.known_references([entry.reference]):
            raise ConflictError("this Idempotency-Key was already used (its record expired); use a new key")
        accounts = await s.lock_accounts([credit.user_id])
        settlement = await _apply(s, accounts, [(credit.user_id, entry)], policy, clock)
        if credit.amount_micros < 0:
            admin.check_overspend(settlement.accounts[0].balance_micros, policy)
        await s.store_response(credit.idempotency_key, _posting_json.encode(settlement.postings[0]))
        await s.commit()
    await sink.publish(settlement.snapshots())
    return settlement.postings[0], False


async def refund_usage(
    request: admin.RefundRequest, ledger: Ledger, sink: BalanceSink, policy: BillingPolicy, clock: Clock
) -> Posting:
    """Credit back one usage charge, once: a second refund of the same transaction is a conflict."""
    async with ledger.session() as s:
        usage = await s.find_transaction(request.transaction_id)
        if usage is None:
            raise NotFoundError(f"no transaction with id {request.transaction_id!r}", "transaction_id")
        entry = admin.refund_entry(usage, request)
        accounts = await s.lock_accounts([usage.user_id])
        if await s.known_references([entry.reference]):
            raise AlreadyRefundedError(usage.id)
        settlement = await _apply(s, accounts, [(usage.user_id, entry)], policy, clock)
        await s.commit()
    await sink.publish(settlement.snapshots())
    return settlement.postings[0]


async def expire_trials(
    ledger: Ledger, sink: BalanceSink, policy: BillingPolicy, clock: Clock, limit: int = 500
) -> int:
    """Settle every expired trial: what usage has not spent of it is deducted (never below zero)."""
    expired = 0
    for user_id in await ledger.due_trials(clock(), limit):
        async with ledger.session() as s:
            account = (await s.lock_accounts([user_id]))[user_id]
            entry = await _expiry_of(s, account, clock)
            settlement = await _apply(s, {user_id: account}, [(user_id, entry)] if entry else [], policy, clock)
            await s.commit()
        await sink.publish(settlement.snapshots())
        expired += len(settlement.postings)
    return expired


async def _expiry_of(s: LedgerSession, account: AccountState, clock: Clock) -> Entry | None:
    expires_at = account.trial_expires_at
    if expires_at is None or expires_at > clock():
        return None  # settled meanwhile by another worker
    trial = await s.find_by_reference(trial_reference(account.user_id))
    if trial is None:
        raise RuntimeError(f"account {account.id} has a trial expiry but no trial transaction")
    used = await s.usage_before(account.id, expires_at)
    return expiry_entry(trial.id, unused_trial_micros(trial.amount_micros, used, account.balance_micros), expires_at)


async def _apply(
    s: LedgerSession,
    accounts: dict[str, AccountState],
    entries: Sequence[tuple[str, Entry]],
    policy: BillingPolicy,
    clock: Clock,
) -> Settlement:
    settlement = settle(accounts, entries, clock())
    if settlement.postings:
        await s.append(settlement)
        await s.stage(events_for(settlement.postings, policy.low_balance_micros))
    return settlement


async def get_balance(user_id: str, ledger: Ledger) -> AccountState | None:
    """The caller's account, or ``None`` while billing has not heard of the user yet."""
    return await ledger.account(user_id)


async def list_transactions(user_id: str, query: TransactionQuery, ledger: Ledger) -> Page:
    account = await ledger.account(user_id)
    rows = [] if account is None else await ledger.transactions(account.id, query)
    return page_of(rows, query.limit)


async def resync_balances(ledger: Ledger, sink: BalanceSink, page_size: int = 1000) -> int:
    """Rewrite every balance into the bucket (versions keep newer values from being overwritten)."""
    after, total = "", 0
    while page := await ledger.snapshots(after, page_size):
        await sink.publish(page)
        total += len(page)
        after = page[-1].user_id
    return total


async def verify_ledger(ledger: Ledger, policy: BillingPolicy) -> AuditReport:
    return await ledger.audit(policy.overspend_bound_micros)
