"""One ledger unit of work on one Postgres transaction: locks, postings, outbox and inbox commit together."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

import msgspec
from sqlalchemy import ARRAY, Text, any_, bindparam, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from tollway.billing.db import budgets as budget_sql
from tollway.billing.db import coupons as coupon_sql
from tollway.billing.db.rows import ACCOUNT_COLUMNS, POSTING_COLUMNS, account_of, posting_of
from tollway.billing.db.tables import ADMIN_CREDIT_PREDICATE, accounts, idempotency_keys, messaging, transactions
from tollway.billing.domain.budgets import KeyBudget, KeySpend, PeriodKey, PeriodSpend
from tollway.billing.domain.coupons import Coupon, Eligibility, RedemptionRecord
from tollway.billing.domain.errors import ConflictError
from tollway.billing.domain.idempotency import StoredResponse
from tollway.billing.domain.ledger import AccountState, Posting, Settlement
from tollway.contracts import BudgetExceededV1, Event, encode, subject_of
from tollway.platform.messaging import claim_events
from tollway.platform.telemetry import inject_trace_context

_json = msgspec.json.Encoder()
_ADMIN_CREDIT_LOCK = 0x7B111_AD  # one advisory lock serialises operator credit so the daily limit is exact
_ADMIN_CREDIT = text(ADMIN_CREDIT_PREDICATE)  # literal, so the planner can use the partial index

# Bulk statements bind one array per column: one round trip and one cached plan whatever the batch size.
_INSERT_POSTINGS = text("""
INSERT INTO billing.transactions
    (id, account_id, seq, type, amount_micros, balance_after_micros, reference, description, metadata,
     created_at, expires_at)
SELECT id, account_id, seq, type, amount, balance_after, reference, description, metadata::jsonb, created_at, expires_at
FROM unnest(CAST(:ids AS text[]), CAST(:account_ids AS text[]), CAST(:seqs AS bigint[]), CAST(:types AS text[]),
            CAST(:amounts AS bigint[]), CAST(:balances AS bigint[]), CAST(:refs AS text[]), CAST(:descs AS text[]),
            CAST(:metas AS text[]), CAST(:created AS timestamptz[]), CAST(:expires AS timestamptz[]))
    AS p(id, account_id, seq, type, amount, balance_after, reference, description, metadata, created_at, expires_at)
""")
_POSTING_PARAMS = (
    "ids",
    "account_ids",
    "seqs",
    "types",
    "amounts",
    "balances",
    "refs",
    "descs",
    "metas",
    "created",
    "expires",
)

# Missing accounts first, in user-id order, before any row lock: a transaction that is still inserting holds
# only rows it created, so inserts and the id-ordered locks below can never wait on each other in a cycle.
_OPEN_ACCOUNTS = text("""
INSERT INTO billing.accounts (id, user_id)
SELECT 'acc_' || replace(gen_random_uuid()::text, '-', ''), u
FROM unnest(CAST(:users AS text[])) WITH ORDINALITY AS t(u, n)
ORDER BY n
ON CONFLICT (user_id) DO NOTHING
""")
_STAGE_EVENTS = text("""
INSERT INTO billing.outbox (event_id, subject, payload, headers)
SELECT event_id, subject, payload, CAST(:headers AS jsonb)
FROM unnest(CAST(:ids AS text[]), CAST(:subjects AS text[]), CAST(:payloads AS bytea[]))
    AS e(event_id, subject, payload)
""")
_UPDATE_ACCOUNTS = text("""
UPDATE billing.accounts AS a
SET balance_micros = v.balance, version = v.version, trial_expires_at = v.trial_expires_at
FROM unnest(CAST(:ids AS text[]), CAST(:balances AS bigint[]), CAST(:versions AS bigint[]),
            CAST(:trials AS timestamptz[])) AS v(id, balance, version, trial_expires_at)
WHERE a.id = v.id
""")


def _texts(name: str) -> object:
    return any_(bindparam(name, type_=ARRAY(Text)))


class SqlAlchemyLedgerSession:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def claim_events(self, consumer: str, event_ids: Sequence[str]) -> set[str]:
        return await claim_events(self._conn, messaging.inbox, consumer, event_ids)

    async def lock_accounts(self, user_ids: Collection[str]) -> dict[str, AccountState]:
        wanted = sorted(set(user_ids))
        if not wanted:
            return {}
        # Usage may arrive before registration: a zero-balance account is consistent (no transactions yet).
        await self._conn.execute(_OPEN_ACCOUNTS, {"users": wanted})
        return await self._lock(wanted)

    async def _lock(self, user_ids: list[str]) -> dict[str, AccountState]:
        # Locked in id order, the order every writer uses, so two batches never wait on each other in a cycle.
        query = (
            select(*ACCOUNT_COLUMNS)
            .where(accounts.c.user_id == _texts("users"))
            .order_by(accounts.c.id)
            .with_for_update()
        )
        rows = await self._conn.execute(query, {"users": user_ids})
        return {row.user_id: account_of(row) for row in rows}

    async def known_references(self, references: Collection[str]) -> set[str]:
        if not references:
            return set()
        query = select(transactions.c.reference).where(transactions.c.reference == _texts("refs"))
        return set((await self._conn.execute(query, {"refs": list(references)})).scalars())

    async def append(self, settlement: Settlement) -> None:
        await self._insert_postings(settlement.postings)
        touched = settlement.accounts
        await self._conn.execute(
            _UPDATE_ACCOUNTS,
            {
                "ids": [a.id for a in touched],
                "balances": [a.balance_micros for a in touched],
                "versions": [a.version for a in touched],
                "trials": [a.trial_expires_at for a in touched],
            },
        )

    async def _insert_postings(self, postings: Sequence[Posting]) -> None:
        rows = [
            (p.id, p.account_id, p.seq, p.type, p.amount_micros, p.balance_after_micros, p.reference,
             p.description, _json.encode(p.metadata).decode(), p.created_at, p.expires_at)
            for p in postings
        ]  # fmt: skip
        columns = [list(column) for column in zip(*rows, strict=True)]
        await self._conn.execute(_INSERT_POSTINGS, dict(zip(_POSTING_PARAMS, columns, strict=True)))

    async def stage(self, events: Sequence[Event]) -> None:
        """The rows ``add_to_outbox`` writes, with the trace headers computed once: a batch shares one span."""
        if not events:
            return
        params = {
            "ids": [e.event_id for e in events],
            "subjects": [subject_of(e) for e in events],
            "payloads": [encode(e) for e in events],
            "headers": _json.encode(dict(inject_trace_context({}))).decode(),
        }
        await self._conn.execute(_STAGE_EVENTS, params)

    async def find_transaction(self, transaction_id: str) -> Posting | None:
        return await self._posting(transactions.c.id == transaction_id)

    async def find_by_reference(self, reference: str) -> Posting | None:
        return await self._posting(transactions.c.reference == reference)

    async def _posting(self, condition: object) -> Posting | None:
        query = select(*POSTING_COLUMNS).join(accounts).where(condition)  # type: ignore[arg-type]
        row = (await self._conn.execute(query)).first()
        return None if row is None else posting_of(row)

    async def claim_key(self, key: str, fingerprint: str) -> StoredResponse | None:
        # A concurrent claim of the same key blocks on the primary key until the first transaction ends.
        claim = insert(idempotency_keys).values(key=key, fingerprint=fingerprint).on_conflict_do_nothing()
        if (await self._conn.execute(claim.returning(idempotency_keys.c.key))).first() is not None:
            return None
        query = select(idempotency_keys.c.fingerprint, idempotency_keys.c.response).where(idempotency_keys.c.key == key)
        row = (await self._conn.execute(query)).one()
        if row.response is None:
            raise ConflictError("a request with this Idempotency-Key is still in progress", "Idempotency-Key")
        return StoredResponse(row.fingerprint, row.response)

    async def store_response(self, key: str, body: bytes) -> None:
        await self._conn.execute(idempotency_keys.update().where(idempotency_keys.c.key == key).values(response=body))

    async def admin_credit_since(self, since: datetime) -> int:
        await self._conn.execute(select(func.pg_advisory_xact_lock(_ADMIN_CREDIT_LOCK)))
        c = transactions.c
        query = select(func.coalesce(func.sum(c.amount_micros), 0)).where(_ADMIN_CREDIT, c.created_at >= since)
        return int((await self._conn.execute(query)).scalar_one())

    async def usage_before(self, account_id: str, at: datetime) -> int:
        c = transactions.c
        query = select(func.coalesce(-func.sum(c.amount_micros), 0)).where(
            c.account_id == account_id, c.type == "usage", c.created_at < at
        )
        return int((await self._conn.execute(query)).scalar_one())

    async def refunds_of(self, transaction_id: str) -> tuple[int, int]:
        """Micro-USD refunded so far against one charge, and how many refunds (read under the account lock)."""
        c = transactions.c
        refunded = c.metadata["refunded_transaction_id"].astext
        query = select(func.coalesce(func.sum(c.amount_micros), 0), func.count()).where(
            c.type == "refund", refunded == transaction_id
        )
        total, count = (await self._conn.execute(query)).one()
        return int(total), int(count)

    async def insert_coupon(self, coupon: Coupon) -> None:
        await coupon_sql.insert_coupon(self._conn, coupon)

    async def lock_coupon(self, coupon_id: str) -> Coupon | None:
        return await coupon_sql.lock_coupon(self._conn, coupon_id=coupon_id)

    async def lock_coupon_by_code(self, code: str) -> Coupon | None:
        return await coupon_sql.lock_coupon(self._conn, code=code)

    async def update_coupon(self, coupon: Coupon) -> None:
        await coupon_sql.update_coupon(self._conn, coupon)

    async def coupon_eligibility(self, coupon_id: str, user_id: str) -> Eligibility:
        return await coupon_sql.eligibility(self._conn, coupon_id, user_id)

    async def record_redemption(self, coupon: Coupon, posting: Posting) -> RedemptionRecord:
        return await coupon_sql.record_redemption(self._conn, coupon, posting)

    async def key_budgets(self, api_key_ids: Collection[str]) -> dict[str, KeyBudget]:
        return await budget_sql.find_budgets(self._conn, api_key_ids)

    async def save_key_budgets(self, budgets: Sequence[KeyBudget]) -> None:
        await budget_sql.save_budgets(self._conn, budgets)

    async def add_key_spend(self, spends: Sequence[PeriodSpend]) -> dict[PeriodKey, KeySpend]:
        return await budget_sql.add_spend(self._conn, spends)

    async def mark_exceeded(self, events: Sequence[BudgetExceededV1], at: datetime) -> set[PeriodKey]:
        return await budget_sql.mark_exceeded(self._conn, events, at)

    async def commit(self) -> None:
        await self._conn.commit()
