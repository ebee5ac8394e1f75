"""SQLAlchemy Core implementations of the gateway's ports, each bound to one connection (one transaction)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Column, RowMapping, bindparam, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tollway.contracts import Event
from tollway.gateway.db.tables import api_keys, auth_audit, messaging, rate_limit_overrides, users
from tollway.gateway.domain.api_keys import ApiKey
from tollway.gateway.domain.audit import AuditEntry
from tollway.gateway.domain.identity import Identity
from tollway.gateway.domain.ratelimits import LimitOverride, Subject
from tollway.gateway.domain.users import User
from tollway.platform.messaging import add_to_outbox

_KEY_COLUMNS = [c for c in api_keys.c]


class SqlAlchemyUsers:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, user: User) -> bool:
        # ON CONFLICT instead of catching IntegrityError: the transaction stays usable and nothing is logged.
        query = insert(users).values(**_values(user)).on_conflict_do_nothing(index_elements=["email"])
        result = await self._conn.execute(query.returning(users.c.id))
        return result.first() is not None

    async def get(self, user_id: str) -> User | None:
        return _user((await self._conn.execute(select(users).where(users.c.id == user_id))).mappings().first())

    async def get_by_email(self, email: str) -> User | None:
        return _user((await self._conn.execute(select(users).where(users.c.email == email))).mappings().first())


class SqlAlchemyApiKeys:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, key: ApiKey) -> None:
        await self._conn.execute(api_keys.insert().values(**_values(key)))

    async def get(self, api_key_id: str) -> ApiKey | None:
        row = (await self._conn.execute(select(api_keys).where(api_keys.c.id == api_key_id))).mappings().first()
        return None if row is None else api_key_of(row)

    async def list_for_user(self, user_id: str) -> list[ApiKey]:
        query = select(api_keys).where(api_keys.c.user_id == user_id).order_by(api_keys.c.created_at, api_keys.c.id)
        return [api_key_of(row) for row in (await self._conn.execute(query)).mappings()]

    async def revoke(self, api_key_id: str, at: datetime) -> ApiKey | None:
        query = (
            update(api_keys)
            .where(api_keys.c.id == api_key_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=at)
            .returning(*_KEY_COLUMNS)
        )
        row = (await self._conn.execute(query)).mappings().first()
        return None if row is None else api_key_of(row)

    async def touch(self, api_key_ids: Iterable[str], at: datetime) -> None:
        """Record uses in one statement (``last_used_at`` only moves forward)."""
        ids = sorted(api_key_ids)  # a stable lock order across replicas flushing at the same time
        if ids:
            await self._conn.execute(
                update(api_keys)
                .where(api_keys.c.id.in_(ids))
                .values(last_used_at=func.greatest(func.coalesce(api_keys.c.last_used_at, at), at))
            )


class SqlAlchemyAuthAudit:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def record(self, entry: AuditEntry) -> None:
        await self._conn.execute(
            auth_audit.insert().values(
                event=entry.event.value,
                actor=entry.actor,
                user_id=entry.user_id,
                api_key_id=entry.api_key_id,
                detail=entry.detail,
            )
        )


class SqlAlchemyOutbox:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def stage(self, events: Sequence[Event]) -> None:
        await add_to_outbox(self._conn, messaging.outbox, events)


class SqlAlchemyIdentityLookup:
    """The cold path of key authentication: one indexed query on the digest, joined with the user."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._query = (
            select(
                api_keys.c.user_id,
                api_keys.c.id.label("api_key_id"),
                api_keys.c.expires_at,
                users.c.routing_strategy,
                users.c.is_active,
                api_keys.c.scopes,
                api_keys.c.allowed_models,
                api_keys.c.ip_allowlist,
                api_keys.c.spend_limit_day_micros,
                api_keys.c.spend_limit_month_micros,
            )
            .join(users, users.c.id == api_keys.c.user_id)
            .where(api_keys.c.digest == bindparam("digest"), api_keys.c.revoked_at.is_(None))
        )

    async def find_identity(self, digest: str) -> Identity | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(self._query, {"digest": digest})).mappings().first()
        if row is None:
            return None
        fields = {**row, **_tuples(row, ("scopes", "allowed_models", "ip_allowlist"))}
        return Identity(**fields)


class SqlAlchemyRateLimits:
    """Overrides of one user or one key (a check constraint allows exactly one subject per row)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, subject: Subject, subject_id: str) -> LimitOverride | None:
        query = select(*_LIMIT_COLUMNS).where(_subject_column(subject) == subject_id)
        row = (await self._conn.execute(query)).mappings().first()
        return None if row is None else LimitOverride(**row)

    async def put(self, subject: Subject, subject_id: str, override: LimitOverride) -> None:
        column = _subject_column(subject)
        values = {"rpm": override.rpm, "tpm": override.tpm, "rpd": override.rpd}
        query = insert(rate_limit_overrides).values({column.name: subject_id, **values})
        await self._conn.execute(
            query.on_conflict_do_update(index_elements=[column.name], set_={**values, "updated_at": func.now()})
        )

    async def delete(self, subject: Subject, subject_id: str) -> bool:
        query = delete(rate_limit_overrides).where(_subject_column(subject) == subject_id)
        result = await self._conn.execute(query.returning(rate_limit_overrides.c.id))
        return result.first() is not None


class SqlAlchemyOverrideLoader:
    """The whole override table, for every replica's periodic reload (it holds only the exceptions)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def load_all(self) -> dict[Subject, dict[str, LimitOverride]]:
        table: dict[Subject, dict[str, LimitOverride]] = {Subject.USER: {}, Subject.API_KEY: {}}
        query = select(rate_limit_overrides.c.user_id, rate_limit_overrides.c.api_key_id, *_LIMIT_COLUMNS)
        async with self._engine.connect() as conn:
            for row in (await conn.execute(query)).mappings():
                override = LimitOverride(rpm=row["rpm"], tpm=row["tpm"], rpd=row["rpd"])
                if row["user_id"] is not None:
                    table[Subject.USER][row["user_id"]] = override
                else:
                    table[Subject.API_KEY][row["api_key_id"]] = override
        return table


_LIMIT_COLUMNS = (rate_limit_overrides.c.rpm, rate_limit_overrides.c.tpm, rate_limit_overrides.c.rpd)


def _subject_column(subject: Subject) -> Column[str]:
    return rate_limit_overrides.c.user_id if subject is Subject.USER else rate_limit_overrides.c.api_key_id


def _values(struct: Any) -> dict[str, Any]:
    return {name: getattr(struct, name) for name in struct.__struct_fields__}


def _user(row: RowMapping | None) -> User | None:
    # Rows also hold secrets (password_hash) and account columns the User struct does not carry.
    return None if row is None else User(**{name: row[name] for name in User.__struct_fields__})


def api_key_of(row: RowMapping) -> ApiKey:
    fields = {name: row[name] for name in ApiKey.__struct_fields__}
    return ApiKey(**{**fields, **_tuples(row, ("scopes", "allowed_models", "ip_allowlist"))})


def _tuples(row: RowMapping, names: tuple[str, ...]) -> dict[str, tuple[str, ...] | None]:
    # Postgres arrays arrive as lists; the structs hold tuples (hashable, immutable like the rest of them).
    return {name: None if row[name] is None else tuple(row[name]) for name in names}
