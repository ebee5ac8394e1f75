"""Events are staged in the same transaction as their row change: a rolled-back change leaves no event."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tollway.contracts import ApiKeyCreatedV1, ApiKeyRevokedV1, UserRegisteredV1, decode
from tollway.gateway import handlers
from tollway.gateway.db.tables import api_keys, messaging, users
from tollway.gateway.db.uow import SqlAlchemyAccountStore, SqlAlchemyUnitOfWork
from tollway.gateway.domain.api_keys import KeyDigester
from tollway.gateway.domain.audit import AuditEntry
from tollway.gateway.domain.errors import EmailTakenError
from tollway.gateway.domain.users import NewUser

ACTOR = "test"


async def outbox_rows(engine: AsyncEngine) -> list[tuple[str, bytes]]:
    async with engine.connect() as conn:
        query = select(messaging.outbox.c.subject, messaging.outbox.c.payload).order_by(messaging.outbox.c.seq)
        return [(row.subject, row.payload) for row in await conn.execute(query)]


async def count(engine: AsyncEngine, table: object) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())  # type: ignore[arg-type]


async def test_each_use_case_stages_its_event(store: SqlAlchemyAccountStore, engine: AsyncEngine) -> None:
    user = await handlers.register_user(store, NewUser(email="ada@example.com"), actor=ACTOR)
    issued = await handlers.create_api_key(store, KeyDigester("p"), user.id, actor=ACTOR)
    await handlers.revoke_api_key(store, issued.api_key.id, actor=ACTOR)

    rows = await outbox_rows(engine)

    assert [subject for subject, _ in rows] == [
        "gateway.user.registered.v1",
        "gateway.api_key.created.v1",
        "gateway.api_key.revoked.v1",
    ]
    assert decode(UserRegisteredV1, rows[0][1]).user_id == user.id
    assert decode(ApiKeyCreatedV1, rows[1][1]).api_key_id == issued.api_key.id
    assert decode(ApiKeyRevokedV1, rows[2][1]).api_key_id == issued.api_key.id
    assert all(issued.plaintext.encode() not in payload for _, payload in rows)


class AuditDownError(Exception):
    pass


class BrokenAudit:
    async def record(self, entry: AuditEntry) -> None:
        raise AuditDownError


class StoreWithBrokenAudit(SqlAlchemyAccountStore):
    """The audit insert (the last statement of each use case) fails after the row and the event were written."""

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqlAlchemyUnitOfWork]:
        async with super().transaction() as uow:
            uow.audit = BrokenAudit()  # type: ignore[assignment]
            yield uow


async def test_a_failed_transaction_leaves_neither_row_nor_event(
    store: SqlAlchemyAccountStore, engine: AsyncEngine
) -> None:
    user = await handlers.register_user(store, NewUser(email="ada@example.com"), actor=ACTOR)
    broken = StoreWithBrokenAudit(engine)

    with pytest.raises(AuditDownError):
        await handlers.create_api_key(broken, KeyDigester("p"), user.id, actor=ACTOR)
    with pytest.raises(AuditDownError):
        await handlers.register_user(broken, NewUser(email="bob@example.com"), actor=ACTOR)

    assert await count(engine, api_keys) == 0
    assert await count(engine, users) == 1
    assert [subject for subject, _ in await outbox_rows(engine)] == ["gateway.user.registered.v1"]


async def test_a_conflicting_registration_stages_nothing(store: SqlAlchemyAccountStore, engine: AsyncEngine) -> None:
    await handlers.register_user(store, NewUser(email="ada@example.com"), actor=ACTOR)
    with pytest.raises(EmailTakenError):
        await handlers.register_user(store, NewUser(email="Ada@Example.com"), actor=ACTOR)
    assert len(await outbox_rows(engine)) == 1
    assert await count(engine, api_keys) == 0
