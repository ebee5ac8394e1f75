"""SQLAlchemy Core implementation of the chat history port: every statement filters by the owner's user id."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from msgspec import UNSET
from sqlalchemy import ColumnElement, Text, cast, delete, func, literal_column, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tollway.gateway.db.chat_tables import chat_messages, chat_sessions, message_feedback
from tollway.gateway.domain.chats import (
    SEARCH_CONFIG,
    SEARCH_INDEXED_CHARS,
    ChatMessage,
    ChatSession,
    ChatTotals,
    Feedback,
    FeedbackChange,
    FeedbackFilter,
    FeedbackTally,
    PageRequest,
    SeqPosition,
    SessionChange,
    SessionPosition,
)

_SESSION = [chat_sessions.c[name] for name in ChatSession.__struct_fields__]
_MESSAGE = [chat_messages.c[name] for name in ChatMessage.__struct_fields__]
_FEEDBACK = [message_feedback.c[name] for name in Feedback.__struct_fields__]
_CONFIG: ColumnElement[Any] = literal_column(f"'{SEARCH_CONFIG}'::regconfig")  # a constant, never caller input


def _vector(value: str) -> ColumnElement[Any]:
    return func.to_tsvector(_CONFIG, func.left(cast(value, Text), SEARCH_INDEXED_CHARS))


class SqlAlchemyChatRecords:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    # --- sessions ---

    async def add_session(self, session: ChatSession) -> ChatSession:
        values = {name: getattr(session, name) for name in ChatSession.__struct_fields__ if name != "seq"}
        query = chat_sessions.insert().values(**values, search=_vector(session.title)).returning(*_SESSION)
        return ChatSession(**(await self._conn.execute(query)).mappings().one())

    async def get_session(self, user_id: str, session_id: str) -> ChatSession | None:
        query = select(*_SESSION).where(*_live(user_id), chat_sessions.c.id == session_id)
        row = (await self._conn.execute(query)).mappings().first()
        return None if row is None else ChatSession(**row)

    async def list_sessions(self, user_id: str, page: PageRequest[SessionPosition]) -> list[ChatSession]:
        return await self._session_page(select(*_SESSION).where(*_live(user_id)), page)

    async def update_session(
        self, user_id: str, session_id: str, change: SessionChange, at: datetime
    ) -> ChatSession | None:
        values: dict[str, Any] = {"updated_at": at}
        if isinstance(change.title, str):
            values.update(title=change.title, search=_vector(change.title))
        if change.model is not UNSET:
            values["model"] = change.model
        query = (
            update(chat_sessions)
            .where(*_live(user_id), chat_sessions.c.id == session_id)
            .values(**values)
            .returning(*_SESSION)
        )
        row = (await self._conn.execute(query)).mappings().first()
        return None if row is None else ChatSession(**row)

    async def delete_session(self, user_id: str, session_id: str, at: datetime) -> bool:
        query = (
            update(chat_sessions)
            .where(*_live(user_id), chat_sessions.c.id == session_id)
            .values(is_active=False, deleted_at=at, updated_at=at)
            .returning(chat_sessions.c.id)
        )
        return (await self._conn.execute(query)).first() is not None

    async def purge_session(self, user_id: str, session_id: str) -> bool:
        # The foreign keys cascade: the session's messages and feedback go in the same statement.
        query = (
            delete(chat_sessions).where(*_live(user_id), chat_sessions.c.id == session_id).returning(chat_sessions.c.id)
        )
        return (await self._conn.execute(query)).first() is not None

    async def touch_session(self, user_id: str, session_id: str, model: str | None, at: datetime) -> bool:
        values: dict[str, Any] = {"updated_at": at}
        if model is not None:
            values["model"] = model
        query = (
            update(chat_sessions)
            .where(*_live(user_id), chat_sessions.c.id == session_id)
            .values(**values)
            .returning(chat_sessions.c.id)
        )
        return (await self._conn.execute(query)).first() is not None

    async def search_sessions(self, user_id: str, query: str, page: PageRequest[SessionPosition]) -> list[ChatSession]:
        terms = func.websearch_to_tsquery(_CONFIG, cast(query, Text))
        # Only the owner's messages are matched: the subquery filters by user before the GIN match.
        in_messages = select(chat_messages.c.session_id).where(
            chat_messages.c.user_id == user_id, chat_messages.c.search.bool_op("@@")(terms)
        )
        matched = chat_sessions.c.search.bool_op("@@")(terms) | chat_sessions.c.id.in_(in_messages)
        return await self._session_page(select(*_SESSION).where(*_live(user_id), matched), page)

    async def totals(self, user_id: str) -> ChatTotals:
        sessions = select(func.count()).where(*_live(user_id))
        messages = (
            select(func.count(), func.coalesce(func.sum(chat_messages.c.tokens), 0))
            .join_from(chat_messages, chat_sessions, chat_sessions.c.id == chat_messages.c.session_id)
            .where(chat_messages.c.user_id == user_id, *_live(user_id))
        )
        total_sessions = (await self._conn.execute(sessions)).scalar_one()
        total_messages, total_tokens = (await self._conn.execute(messages)).one()
        return ChatTotals(total_sessions=total_sessions, total_messages=total_messages, total_tokens=int(total_tokens))

    async def _session_page(self, query: Any, page: PageRequest[SessionPosition]) -> list[ChatSession]:
        if page.after is not None:
            after = (page.after.updated_at, page.after.seq)
            query = query.where(tuple_(chat_sessions.c.updated_at, chat_sessions.c.seq) < after)
        query = query.order_by(chat_sessions.c.updated_at.desc(), chat_sessions.c.seq.desc()).limit(page.limit + 1)
        return [ChatSession(**row) for row in (await self._conn.execute(query)).mappings()]

    # --- messages ---

    async def add_messages(self, messages: Sequence[ChatMessage]) -> set[str]:
        rows = [
            {
                **{name: getattr(m, name) for name in ChatMessage.__struct_fields__ if name != "seq"},
                "search": _vector(m.content),
            }
            for m in messages
        ]
        query = (
            insert(chat_messages)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["session_id", "client_message_id"])
            .returning(chat_messages.c.id)
        )
        return {row.id for row in await self._conn.execute(query)}

    async def find_by_client_ids(self, session_id: str, client_ids: Sequence[str]) -> dict[str, ChatMessage]:
        query = select(*_MESSAGE).where(
            chat_messages.c.session_id == session_id, chat_messages.c.client_message_id.in_(client_ids)
        )
        found = [ChatMessage(**row) for row in (await self._conn.execute(query)).mappings()]
        return {message.client_message_id or "": message for message in found}

    async def list_messages(self, session_id: str, page: PageRequest[SeqPosition]) -> list[ChatMessage]:
        query = select(*_MESSAGE).where(chat_messages.c.session_id == session_id)
        if page.after is not None:
            query = query.where(chat_messages.c.seq > page.after.seq)
        query = query.order_by(chat_messages.c.seq).limit(page.limit + 1)
        return [ChatMessage(**row) for row in (await self._conn.execute(query)).mappings()]

    async def get_message(self, user_id: str, message_id: str) -> ChatMessage | None:
        query = (
            select(*_MESSAGE)
            .join_from(chat_messages, chat_sessions, chat_sessions.c.id == chat_messages.c.session_id)
            .where(chat_messages.c.id == message_id, chat_messages.c.user_id == user_id, *_live(user_id))
        )
        row = (await self._conn.execute(query)).mappings().first()
        return None if row is None else ChatMessage(**row)

    # --- feedback ---

    async def put_feedback(self, feedback: Feedback) -> tuple[Feedback, bool]:
        values = {name: getattr(feedback, name) for name in Feedback.__struct_fields__ if name != "seq"}
        query = insert(message_feedback).values(**values)
        replaced = ("session_id", "feedback_type", "rating", "comment", "model", "metadata", "updated_at")
        query = query.on_conflict_do_update(
            index_elements=["user_id", "message_id"], set_={name: query.excluded[name] for name in replaced}
        )
        # xmax is 0 only on a freshly inserted row version: how Postgres tells an insert from an upsert.
        inserted: ColumnElement[bool] = literal_column("xmax = 0").label("inserted")
        row = (await self._conn.execute(query.returning(*_FEEDBACK, inserted))).mappings().one()
        fields = {name: row[name] for name in Feedback.__struct_fields__}
        return Feedback(**fields), bool(row["inserted"])

    async def list_feedback(
        self, user_id: str, where: FeedbackFilter, page: PageRequest[SeqPosition]
    ) -> list[Feedback]:
        query = select(*_FEEDBACK).where(message_feedback.c.user_id == user_id)
        for name in ("feedback_type", "session_id", "model"):
            value = getattr(where, name)
            if value is not None:
                query = query.where(message_feedback.c[name] == value)
        if page.after is not None:
            query = query.where(message_feedback.c.seq < page.after.seq)
        query = query.order_by(message_feedback.c.seq.desc()).limit(page.limit + 1)
        return [Feedback(**row) for row in (await self._conn.execute(query)).mappings()]

    async def update_feedback(
        self, user_id: str, feedback_id: str, change: FeedbackChange, at: datetime
    ) -> Feedback | None:
        values: dict[str, Any] = {"updated_at": at}
        for name in FeedbackChange.__struct_fields__:
            value = getattr(change, name)
            if value is not UNSET:
                values[name] = value
        query = (
            update(message_feedback)
            .where(message_feedback.c.id == feedback_id, message_feedback.c.user_id == user_id)
            .values(**values)
            .returning(*_FEEDBACK)
        )
        row = (await self._conn.execute(query)).mappings().first()
        return None if row is None else Feedback(**row)

    async def delete_feedback(self, user_id: str, feedback_id: str) -> bool:
        query = (
            delete(message_feedback)
            .where(message_feedback.c.id == feedback_id, message_feedback.c.user_id == user_id)
            .returning(message_feedback.c.id)
        )
        return (await self._conn.execute(query)).first() is not None

    async def feedback_tallies(self, user_id: str, since: datetime, model: str | None) -> list[FeedbackTally]:
        f = message_feedback.c
        query = (
            select(
                f.model,
                f.feedback_type,
                func.count().label("count"),
                func.coalesce(func.sum(f.rating), 0).label("rating_sum"),
                func.count(f.rating).label("rating_count"),
            )
            .where(f.user_id == user_id, f.created_at >= since)
            .group_by(f.model, f.feedback_type)
        )
        if model is not None:
            query = query.where(f.model == model)
        rows = (await self._conn.execute(query)).mappings()
        return [FeedbackTally(**{**row, "rating_sum": int(row["rating_sum"])}) for row in rows]


def _live(user_id: str) -> tuple[ColumnElement[bool], ...]:
    # The bare column (not ``IS true``) is what lets the planner use ix_chat_sessions_user_recent for both.
    return chat_sessions.c.user_id == user_id, chat_sessions.c.is_active


class SqlAlchemyChatStore:
    """``transaction()`` commits when the block exits normally and rolls back when it raises."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqlAlchemyChatRecords]:
        async with self._engine.begin() as conn:
            yield SqlAlchemyChatRecords(conn)
