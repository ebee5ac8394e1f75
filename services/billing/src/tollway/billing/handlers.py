"""Use cases of billing, one async function each; they depend on ``ports`` only."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import msgspec

from tollway.billing import budgets
from tollway.billing.domain import admin, idempotency
from tollway.billing.domain.audit import AuditReport
from tollway.billing.domain.audit_trail import AuditPage, AuditQuery, audit_page
from tollway.billing.domain.errors import ConflictError, InvalidInputError, NotFoundError
from tollway.billing.domain.ledger import AccountState, Entry, Posting, Settlement, settle
from tollway.billing.domain.notifications import events_for
from tollway.billing.domain.pages import Page, TransactionQuery, page_of
from tollway.billing.domain.policy import BillingPolicy
from tollway.billing.domain.reports import (
    AdminTransactionQuery,
    LedgerSummary,
    SortPosition,
    SpendLine,
    TrialAnalytics,
    TrialState,
    UserSummary,
    check_window,
    encode_position,
)
from tollway.billing.domain.statements import Statement, build_statement, month_bounds
from tollway.billing.domain.trial import expiry_entry, trial_entry, trial_reference, unused_trial_micros
from tollway.billing.domain.usage import charges_from
from tollway.billing.ports import AuditTrail, BalanceSink, Clock, Ledger, LedgerSession, Reports
from tollway.contracts import RequestCompletedV1, UserRegisteredV1

_posting_json = msgspec.json.Encoder()
_json = _posting_json
_posting_decoder = msgspec.json.Decoder(Posting)
_bulk_decoder = msgspec.json.Decoder(admin.BulkResult)


async def settle_usage(
    events: Sequence[RequestCompletedV1],
    ledger: Ledger,
    sink: BalanceSink,
    *,
    consumer: str,
    policy: BillingPolicy,
    clock: Clock,
) -> int:
    """Debit each usage event once (inbox + unique reference), a whole batch in one transaction.

    The same transaction moves the keys' budget counters and stages ``billing.budget.exceeded.v1`` when one is reached.
    """
    async with ledger.session() as s:
        new = await s.claim_events(consumer, [e.event_id for e in events])
        charges = charges_from([e for e in events if e.event_id in new])
        accounts = await s.lock_accounts({c.user_id for c in charges}) if charges else {}
        posted = await s.known_references([c.entry.reference for c in charges]) if charges else set()
        entries = [(c.user_id, c.entry) for c in charges if c.entry.reference not in posted]
        settlement = await apply_entries(s, accounts, entries, policy, clock)
        await budgets.track_key_spend(s, settlement.postings, clock)
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
        settlement = await apply_entries(s, accounts, entries, policy, clock)
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
        settlement = await apply_entries(s, accounts, [(credit.user_id, entry)], policy, clock)
        if credit.amount_micros < 0:
            admin.check_overspend(settlement.accounts[0].balance_micros, policy)
        await s.store_response(credit.idempotency_key, _posting_json.encode(settlement.postings[0]))
        await s.commit()
    await sink.publish(settlement.snapshots())
    return settlement.postings[0], False


async def refund_usage(
    request: admin.RefundRequest, ledger: Ledger, sink: BalanceSink, policy: BillingPolicy, clock: Clock
) -> tuple[Posting, bool]:
    """Credit back (part of) a usage charge; refunds of one charge never sum to more than it."""
    async with ledger.session() as s:
        key = request.idempotency_key
        if key is not None and (stored := await s.claim_key(f"refund:{key}", request.fingerprint)) is not None:
            return _posting_decoder.decode(idempotency.replay(stored, request.fingerprint)), True
        usage = await s.find_transaction(request.transaction_id)
        if usage is None:
            raise NotFoundError(f"no transaction with id {request.transaction_id!r}", "transaction_id")
        # The account lock serialises every refund of this charge, so the sum read next is final.
        accounts = await s.lock_accounts([usage.user_id])
        refunded, count = await s.refunds_of(usage.id)
        entry = admin.refund_entry(usage, request, refunded, count)
        if await s.known_references([entry.reference]):
            raise ConflictError("this Idempotency-Key was already used (its record expired); use a new key")
        settlement = await apply_entries(s, accounts, [(usage.user_id, entry)], policy, clock)
        if key is not None:
            await s.store_response(f"refund:{key}", _posting_json.encode(settlement.postings[0]))
        await s.commit()
    await sink.publish(settlement.snapshots())
    return settlement.postings[0], False


async def grant_bulk(
    bulk: admin.BulkGrant, ledger: Ledger, sink: BalanceSink, policy: BillingPolicy, clock: Clock
) -> tuple[admin.BulkResult, bool]:
    """One grant per distinct account, all in one transaction; the daily limit decides who is left out."""
    admin.check_bulk(bulk, policy)
    async with ledger.session() as s:
        stored = await s.claim_key(bulk.idempotency_key, bulk.fingerprint)
        if stored is not None:
            return _bulk_decoder.decode(idempotency.replay(stored, bulk.fingerprint)), True
        today = await s.admin_credit_since(admin.utc_day_start(clock()))
        granted, refused = admin.plan_bulk(bulk, today, policy)
        entries = [(u, bulk.entry_for(u)) for u in granted]
        if await s.known_references([e.reference for _, e in entries]):
            raise ConflictError("this Idempotency-Key was already used (its record expired); use a new key")
        accounts = await s.lock_accounts(granted)
        settlement = await apply_entries(s, accounts, entries, policy, clock)
        result = admin.bulk_result(bulk, _outcomes(bulk, settlement.postings, refused))
        await s.store_response(bulk.idempotency_key, _json.encode(result))
        await s.commit()
    await sink.publish(settlement.snapshots())
    return result, False


def _outcomes(
    bulk: admin.BulkGrant, postings: Sequence[Posting], refused: Sequence[admin.GrantOutcome]
) -> list[admin.GrantOutcome]:
    by_user = {o.user_id: o for o in refused}
    for p in postings:
        by_user[p.user_id] = admin.GrantOutcome(
            user_id=p.user_id, status="granted", transaction_id=p.id, balance_after_micros=p.balance_after_micros
        )
    return [by_user[u] for u in bulk.unique_user_ids]


async def expire_trials(
    ledger: Ledger, sink: BalanceSink, policy: BillingPolicy, clock: Clock, limit: int = 500
) -> int:
    """Settle every expired trial: what usage has not spent of it is deducted (never below zero)."""
    expired = 0
    for user_id in await ledger.due_trials(clock(), limit):
        async with ledger.session() as s:
            account = (await s.lock_accounts([user_id]))[user_id]
            entry = await _expiry_of(s, account, clock)
            settlement = await apply_entries(s, {user_id: account}, [(user_id, entry)] if entry else [], policy, clock)
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


async def apply_entries(
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


async def list_audit_entries(query: AuditQuery, trail: AuditTrail) -> AuditPage:
    """Billing's audit trail: what operators did to accounts and coupons, newest first."""
    return audit_page(await trail.entries(query), query.limit)


async def list_all_transactions(query: AdminTransactionQuery, reports: Reports) -> tuple[list[Posting], str | None]:
    rows = await reports.admin_transactions(query)
    items = rows[: query.limit]
    if not (len(rows) > query.limit and items):
        return items, None
    last = items[-1]
    value: int | datetime = last.amount_micros if query.sort == "amount" else last.created_at
    return items, encode_position(SortPosition(query.sort, query.order, value, last.id))


async def credits_summary(
    user_id: str | None, since: datetime | None, until: datetime | None, reports: Reports
) -> LedgerSummary:
    check_window(since, until)
    summary = await reports.ledger_summary(user_id, since, until)
    if summary is None:
        raise NotFoundError(f"no account for user {user_id!r}", "user_id")
    return summary


async def user_summary(user_id: str, days: int, ledger: Ledger, reports: Reports, clock: Clock) -> UserSummary:
    """The caller's balance, what usage cost them over the last ``days`` (by day, model, key) and their trial."""
    if not 1 <= days <= MAX_SUMMARY_DAYS:
        raise InvalidInputError(f"days must be between 1 and {MAX_SUMMARY_DAYS}", "days")
    now = clock()
    since = (now - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    account = await ledger.account(user_id)
    if account is None:
        empty: list[SpendLine] = []
        return UserSummary(user_id=user_id, balance_micros=0, since=since, spend_micros=0, requests=0,
                           by_day=empty, by_model=empty, by_key=empty, trial=TrialState(state="none"))  # fmt: skip
    spend = await reports.spend(account.id, since)
    return UserSummary(
        user_id=user_id,
        balance_micros=account.balance_micros,
        since=since,
        spend_micros=sum(line.spend_micros for line in spend["day"]),
        requests=sum(line.requests for line in spend["day"]),
        by_day=spend["day"],
        by_model=spend["model"],
        by_key=spend["key"],
        trial=await reports.trial_state(account.id, now),
    )


MAX_SUMMARY_DAYS = 90


async def trial_analytics(
    since: datetime | None, until: datetime | None, reports: Reports, clock: Clock
) -> TrialAnalytics:
    check_window(since, until)
    return await reports.trial_analytics(clock(), since, until)


async def account_statement(user_id: str, month: str, ledger: Ledger, reports: Reports) -> Statement:
    """Opening balance, the month's transactions in order, closing balance: exactly what the ledger holds."""
    start, end = month_bounds(month)
    account = await ledger.account(user_id)
    if account is None:
        return build_statement(user_id=user_id, account_id=None, month=month, opening_micros=0, postings=[])
    opening, postings = await reports.month_of(account.id, start, end)
    return build_statement(
        user_id=user_id, account_id=account.id, month=month, opening_micros=opening, postings=postings
    )
