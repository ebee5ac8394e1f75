"""SQLAlchemy Core implementations of the accounts ports (sessions, resets, mail, admin queries)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Date, and_, cast, delete, func, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from tollway.gateway.db.repositories import api_key_of
from tollway.gateway.db.tables import (
    api_keys,
    auth_audit,
    mail_outbox,
    password_resets,
    rate_limit_overrides,
    sessions,
    users,
)
from tollway.gateway.domain.accounts import Cursor
from tollway.gateway.domain.accounts_records import (
    AuditRecord,
    Mail,
    PasswordReset,
    Session,
    SessionOwner,
    UserFilter,
    UserStats,
)
from tollway.gateway.domain.api_keys import ApiKey
from tollway.gateway.domain.users import User

_USER_COLUMNS = [users.c[name] for name in User.__struct_fields__]


def _user(row: Any) -> User:
    return User(**{name: row[name] for name in User.__struct_fields__})


class SqlAlchemyAccountUsers:
    """Users as accounts: credentials, profile changes and the admin queries."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, user: User, *, password_hash: str | None, external_subject: str | None = None) -> bool:
        values = {name: getattr(user, name) for name in User.__struct_fields__}
        query = insert(users).values(**values, password_hash=password_hash, external_subject=external_subject)
        result = await self._conn.execute(query.on_conflict_do_nothing().returning(users.c.id))
        return result.first() is not None

    async def credentials(self, email: str) -> tuple[User, str | None] | None:
        row = (await self._conn.execute(select(users).where(users.c.email == email))).mappings().first()
        return None if row is None else (_user(row), row["password_hash"])

    async def by_external_subject(self, subject: str) -> User | None:
        row = (await self._conn.execute(select(*_USER_COLUMNS).where(users.c.external_subject == subject))).first()
        return None if row is None else _user(row._mapping)

    async def link_external(self, user_id: str, subject: str) -> None:
        await self._conn.execute(update(users).where(users.c.id == user_id).values(external_subject=subject))

    async def set_password(self, user_id: str, password_hash: str) -> None:
        query = update(users).where(users.c.id == user_id).values(password_hash=password_hash, updated_at=func.now())
        await self._conn.execute(query)

    async def update(self, user_id: str, changes: dict[str, Any]) -> User | None:
        query = update(users).where(users.c.id == user_id).values(**changes, updated_at=func.now())
        row = (await self._conn.execute(query.returning(*_USER_COLUMNS))).first()
        return None if row is None else _user(row._mapping)

    async def page(self, where: UserFilter, after: Cursor | None, limit: int) -> list[User]:
        query = select(*_USER_COLUMNS).where(*_user_conditions(where))
        if after is not None:  # newest first: the next page holds rows that sort before the cursor
            query = query.where(tuple_(users.c.created_at, users.c.id) < tuple_(after.at, after.id))
        query = query.order_by(users.c.created_at.desc(), users.c.id.desc()).limit(limit)
        return [_user(row._mapping) for row in await self._conn.execute(query)]

    async def count(self, where: UserFilter) -> int:
        query = select(func.count()).select_from(users).where(*_user_conditions(where))
        return int((await self._conn.execute(query)).scalar_one())

    async def stats(self, where: UserFilter) -> UserStats:
        conditions = _user_conditions(where)
        totals = select(
            func.count(),
            func.count().filter(users.c.is_active),
            func.count().filter(users.c.password_hash.is_not(None)),
            func.count().filter(users.c.external_subject.is_not(None)),
        ).where(*conditions)
        total, active, with_password, external = (await self._conn.execute(totals)).one()
        roles = select(users.c.role, func.count()).where(*conditions).group_by(users.c.role)
        by_role = {role: int(n) for role, n in await self._conn.execute(roles)}
        return UserStats(
            total=total,
            active=active,
            inactive=total - active,
            by_role=by_role,
            with_password=with_password,
            external=external,
        )

    async def daily_signups(self, since: datetime) -> tuple[int, dict[str, int]]:
        """Users created before ``since``, and new users per UTC day from then on."""
        before = select(func.count()).select_from(users).where(users.c.created_at < since)
        day = cast(func.timezone("UTC", users.c.created_at), Date)
        daily = select(day, func.count()).where(users.c.created_at >= since).group_by(day)
        rows = await self._conn.execute(daily)
        return int((await self._conn.execute(before)).scalar_one()), {d.isoformat(): int(n) for d, n in rows}

    async def in_domain(self, domain: str) -> list[User]:
        # ``domain`` is validated (no LIKE metacharacters); lower(email) is what is stored anyway.
        query = select(*_USER_COLUMNS).where(users.c.email.like(f"%@{domain}")).order_by(users.c.created_at)
        return [_user(row._mapping) for row in await self._conn.execute(query)]

    async def delete(self, user_ids: list[str]) -> int:
        """Delete users and everything of theirs in this schema (children first: the foreign keys do not cascade)."""
        if not user_ids:
            return 0
        key_ids = select(api_keys.c.id).where(api_keys.c.user_id.in_(user_ids))
        await self._conn.execute(delete(rate_limit_overrides).where(rate_limit_overrides.c.api_key_id.in_(key_ids)))
        await self._conn.execute(delete(rate_limit_overrides).where(rate_limit_overrides.c.user_id.in_(user_ids)))
        for table in (api_keys, sessions, password_resets):
            await self._conn.execute(delete(table).where(table.c.user_id.in_(user_ids)))
        result = await self._conn.execute(delete(users).where(users.c.id.in_(user_ids)).returning(users.c.id))
        return len(result.all())


def _user_conditions(where: UserFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if where.email_contains:
        escaped = where.email_contains.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(users.c.email.like(f"%{escaped}%", escape="\\"))
    if where.role is not None:
        conditions.append(users.c.role == where.role)
    if where.is_active is not None:
        conditions.append(users.c.is_active.is_(where.is_active))
    if where.created_after is not None:
        conditions.append(users.c.created_at >= where.created_after)
    if where.created_before is not None:
        conditions.append(users.c.created_at < where.created_before)
    return conditions


class SqlAlchemyAccountKeys:
    """Key changes beyond create/revoke: owner-scoped reads, attribute updates, rotation, lookup by digest."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def owned(self, user_id: str, api_key_id: str) -> ApiKey | None:
        query = select(api_keys).where(api_keys.c.id == api_key_id, api_keys.c.user_id == user_id)
        row = (await self._conn.execute(query)).mappings().first()
        return None if row is None else api_key_of(row)

    async def by_digest(self, digest: str) -> ApiKey | None:
        row = (await self._conn.execute(select(api_keys).where(api_keys.c.digest == digest))).mappings().first()
        return None if row is None else api_key_of(row)

    async def update(self, api_key_id: str, changes: dict[str, Any]) -> ApiKey | None:
        query = update(api_keys).where(api_keys.c.id == api_key_id).values(**changes).returning(*api_keys.c)
        row = (await self._conn.execute(query)).mappings().first()
        return None if row is None else api_key_of(row)

    async def usable_ids(self, user_ids: list[str]) -> list[tuple[str, str]]:
        """(key id, user id) of every unrevoked key of these users."""
        query = select(api_keys.c.id, api_keys.c.user_id).where(
            api_keys.c.user_id.in_(user_ids), api_keys.c.revoked_at.is_(None)
        )
        return [(key_id, user_id) for key_id, user_id in await self._conn.execute(query)]


class SqlAlchemySessions:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, session: Session) -> None:
        await self._conn.execute(
            sessions.insert().values(
                id=session.id,
                user_id=session.user_id,
                refresh_digest=session.refresh_digest,
                expires_at=session.expires_at,
            )
        )

    async def owner(self, session_id: str, now: datetime) -> SessionOwner | None:
        query = (
            select(sessions.c.id.label("session_id"), users.c.id.label("user_id"), users.c.role, users.c.is_active)
            .join(users, users.c.id == sessions.c.user_id)
            .where(sessions.c.id == session_id, sessions.c.revoked_at.is_(None), sessions.c.expires_at > now)
        )
        row = (await self._conn.execute(query)).mappings().first()
        return None if row is None else SessionOwner(**row)

    async def by_refresh(self, digest: str) -> tuple[Session, bool] | None:
        """The session whose current (``True``) or previous (``False``: a replayed token) refresh digest this is."""
        query = select(sessions).where(or_(sessions.c.refresh_digest == digest, sessions.c.previous_digest == digest))
        row = (await self._conn.execute(query.with_for_update())).mappings().first()
        if row is None:
            return None
        session = Session(**{name: row[name] for name in Session.__struct_fields__})
        return session, row["refresh_digest"] == digest

    async def rotate(self, session_id: str, old_digest: str, new_digest: str) -> bool:
        query = (
            update(sessions)
            .where(sessions.c.id == session_id, sessions.c.refresh_digest == old_digest)
            .values(refresh_digest=new_digest, previous_digest=old_digest, refreshed_at=func.now())
        )
        return bool((await self._conn.execute(query.returning(sessions.c.id))).first())

    async def revoke(self, session_id: str, at: datetime) -> None:
        query = update(sessions).where(sessions.c.id == session_id, sessions.c.revoked_at.is_(None))
        await self._conn.execute(query.values(revoked_at=at))

    async def revoke_all(self, user_id: str, at: datetime) -> int:
        query = update(sessions).where(sessions.c.user_id == user_id, sessions.c.revoked_at.is_(None))
        return len((await self._conn.execute(query.values(revoked_at=at).returning(sessions.c.id))).all())


class SqlAlchemyPasswordResets:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, user_id: str, token_digest: str, expires_at: datetime) -> None:
        await self._conn.execute(
            password_resets.insert().values(user_id=user_id, token_digest=token_digest, expires_at=expires_at)
        )

    async def take(self, token_digest: str, now: datetime) -> PasswordReset | None:
        """Mark the unused, unexpired reset with this digest used and return it (single use, even when racing)."""
        query = (
            update(password_resets)
            .where(
                password_resets.c.token_digest == token_digest,
                password_resets.c.used_at.is_(None),
                password_resets.c.expires_at > now,
            )
            .values(used_at=now)
            .returning(password_resets.c.id, password_resets.c.user_id, password_resets.c.expires_at)
        )
        row = (await self._conn.execute(query)).mappings().first()
        return None if row is None else PasswordReset(**row, used_at=now)

    async def void_all(self, user_id: str, now: datetime) -> None:
        query = update(password_resets).where(password_resets.c.user_id == user_id, password_resets.c.used_at.is_(None))
        await self._conn.execute(query.values(used_at=now))


class SqlAlchemyMailOutbox:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def stage(self, mail: Mail) -> None:
        await self._conn.execute(
            mail_outbox.insert().values(recipient=mail.recipient, subject=mail.subject, body=mail.body)
        )

    async def due(self, now: datetime, limit: int) -> list[Mail]:
        """Unsent mail whose time has come, locked so parallel mailers take different rows."""
        query = (
            select(
                mail_outbox.c.id,
                mail_outbox.c.recipient,
                mail_outbox.c.subject,
                mail_outbox.c.body,
                mail_outbox.c.attempts,
            )
            .where(
                mail_outbox.c.sent_at.is_(None), mail_outbox.c.next_attempt_at <= now, mail_outbox.c.body.is_not(None)
            )
            .order_by(mail_outbox.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [Mail(**row) for row in (await self._conn.execute(query)).mappings()]

    async def sent(self, mail_id: int, at: datetime) -> None:
        # The body held a reset link: once delivered it is erased, so the table keeps no usable token.
        query = update(mail_outbox).where(mail_outbox.c.id == mail_id).values(sent_at=at, body=None, last_error=None)
        await self._conn.execute(query)

    async def failed(self, mail_id: int, error: str, retry_at: datetime, give_up: bool) -> None:
        values: dict[str, Any] = {
            "attempts": mail_outbox.c.attempts + 1,
            "last_error": error[:200],
            "next_attempt_at": retry_at,
        }
        if give_up:
            values["body"] = None
        await self._conn.execute(update(mail_outbox).where(mail_outbox.c.id == mail_id).values(**values))


class SqlAlchemyAuditLog:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def page(
        self, after: Cursor | None, limit: int, *, user_id: str | None = None, event: str | None = None
    ) -> list[AuditRecord]:
        query = select(auth_audit)
        if user_id is not None:
            query = query.where(auth_audit.c.user_id == user_id)
        if event is not None:
            query = query.where(auth_audit.c.event == event)
        if after is not None:
            query = query.where(and_(auth_audit.c.id < int(after.id)))
        query = query.order_by(auth_audit.c.id.desc()).limit(limit)
        return [AuditRecord(**row) for row in (await self._conn.execute(query)).mappings()]
