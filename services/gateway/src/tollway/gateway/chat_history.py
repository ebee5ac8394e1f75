"""Chat history use cases: a user's sessions, messages, search, stats and feedback, always scoped to the owner."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol

import msgspec

from tollway.contracts import utc_now
from tollway.gateway.domain import chats as rules
from tollway.gateway.domain.chats import (
    ChatMessage,
    ChatMessageNotFoundError,
    ChatSession,
    ChatSessionNotFoundError,
    ChatTotals,
    ClientMessageIdReusedError,
    Feedback,
    FeedbackChange,
    FeedbackFilter,
    FeedbackNotFoundError,
    FeedbackStats,
    FeedbackTally,
    NewFeedback,
    NewMessage,
    Page,
    PageRequest,
    SeqPosition,
    SessionChange,
    SessionPosition,
)


class ChatRecords(Protocol):
    """One transaction's view of the chat tables; every read and write names the owner."""

    async def add_session(self, session: ChatSession) -> ChatSession: ...

    async def get_session(self, user_id: str, session_id: str) -> ChatSession | None:
        """The live session, or ``None`` when it is missing, another user's or deleted."""
        ...

    async def list_sessions(self, user_id: str, page: PageRequest[SessionPosition]) -> list[ChatSession]:
        """Up to ``page.limit + 1`` live sessions, most recently active first."""
        ...

    async def update_session(
        self, user_id: str, session_id: str, change: SessionChange, at: datetime
    ) -> ChatSession | None: ...

    async def delete_session(self, user_id: str, session_id: str, at: datetime) -> bool: ...

    async def purge_session(self, user_id: str, session_id: str) -> bool:
        """Remove the live session with its messages and feedback for good."""
        ...

    async def touch_session(self, user_id: str, session_id: str, model: str | None, at: datetime) -> bool:
        """Lock the live session and mark it active now (and its model, when given); ``False`` if not the user's."""
        ...

    async def add_messages(self, messages: Sequence[ChatMessage]) -> set[str]:
        """Insert, skipping those whose client id the session already has; the ids actually inserted."""
        ...

    async def find_by_client_ids(self, session_id: str, client_ids: Sequence[str]) -> dict[str, ChatMessage]: ...

    async def list_messages(self, session_id: str, page: PageRequest[SeqPosition]) -> list[ChatMessage]:
        """Up to ``page.limit + 1`` messages, oldest first."""
        ...

    async def get_message(self, user_id: str, message_id: str) -> ChatMessage | None:
        """The message when it belongs to a live session of the user."""
        ...

    async def search_sessions(
        self, user_id: str, query: str, page: PageRequest[SessionPosition]
    ) -> list[ChatSession]: ...

    async def totals(self, user_id: str) -> ChatTotals: ...

    async def put_feedback(self, feedback: Feedback) -> tuple[Feedback, bool]:
        """Insert, or replace the user's earlier feedback on the same message; ``True`` when inserted."""
        ...

    async def list_feedback(
        self, user_id: str, where: FeedbackFilter, page: PageRequest[SeqPosition]
    ) -> list[Feedback]: ...

    async def update_feedback(
        self, user_id: str, feedback_id: str, change: FeedbackChange, at: datetime
    ) -> Feedback | None: ...

    async def delete_feedback(self, user_id: str, feedback_id: str) -> bool: ...

    async def feedback_tallies(self, user_id: str, since: datetime, model: str | None) -> list[FeedbackTally]: ...


class ChatStore(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[ChatRecords]:
        """Commit when the block exits normally, roll back when it raises."""
        ...


class SavedMessage(msgspec.Struct, frozen=True, kw_only=True):
    message: ChatMessage
    created: bool  # False: an earlier call already saved it (same client message id and content)


class BatchFailure(msgspec.Struct, frozen=True, kw_only=True):
    index: int
    client_message_id: str | None
    code: str
    message: str


class BatchResult(msgspec.Struct, frozen=True, kw_only=True):
    saved: list[SavedMessage]
    failed: list[BatchFailure]


# --- sessions ------------------------------------------------------------------------------------------------------


async def create_session(store: ChatStore, user_id: str, title: str | None, model: str | None) -> ChatSession:
    now = utc_now()
    session = ChatSession(
        id=rules.new_session_id(),
        user_id=user_id,
        title=title or rules.default_title(now),
        model=model,
        created_at=now,
        updated_at=now,
    )
    async with store.transaction() as chats:
        return await chats.add_session(session)


async def list_sessions(store: ChatStore, user_id: str, page: PageRequest[SessionPosition]) -> Page[ChatSession]:
    async with store.transaction() as chats:
        rows = await chats.list_sessions(user_id, page)
    return rules.session_page(rows, page.limit)


async def get_session(
    store: ChatStore, user_id: str, session_id: str, page: PageRequest[SeqPosition]
) -> tuple[ChatSession, Page[ChatMessage]]:
    """The session with one page of its messages (oldest first), read in one transaction."""
    async with store.transaction() as chats:
        session = await _owned(chats, user_id, session_id)
        rows = await chats.list_messages(session_id, page)
    return session, rules.message_page(rows, page.limit)


async def list_messages(
    store: ChatStore, user_id: str, session_id: str, page: PageRequest[SeqPosition]
) -> Page[ChatMessage]:
    return (await get_session(store, user_id, session_id, page))[1]


async def update_session(store: ChatStore, user_id: str, session_id: str, change: SessionChange) -> ChatSession:
    _check_session_id(session_id)
    if change.title is None:
        change = msgspec.structs.replace(change, title=rules.default_title(utc_now()))
    async with store.transaction() as chats:
        session = await chats.update_session(user_id, session_id, change, utc_now())
    if session is None:
        raise ChatSessionNotFoundError(session_id)
    return session


async def delete_session(store: ChatStore, user_id: str, session_id: str, *, purge: bool = False) -> None:
    """Soft delete: the session disappears from every route, its messages and feedback stay stored.

    ``purge`` erases the session, its messages and its feedback instead (the user's right to erasure).
    """
    _check_session_id(session_id)
    async with store.transaction() as chats:
        if purge:
            found = await chats.purge_session(user_id, session_id)
        else:
            found = await chats.delete_session(user_id, session_id, utc_now())
    if not found:
        raise ChatSessionNotFoundError(session_id)


async def _owned(chats: ChatRecords, user_id: str, session_id: str) -> ChatSession:
    _check_session_id(session_id)
    session = await chats.get_session(user_id, session_id)
    if session is None:
        raise ChatSessionNotFoundError(session_id)
    return session


def _check_session_id(session_id: str) -> None:
    if not rules.is_record_id(session_id):
        raise ChatSessionNotFoundError(session_id)


def _check_feedback_id(feedback_id: str) -> None:
    if not rules.is_record_id(feedback_id):
        raise FeedbackNotFoundError(feedback_id)


# --- messages ------------------------------------------------------------------------------------------------------


async def save_message(store: ChatStore, user_id: str, session_id: str, new: NewMessage) -> SavedMessage:
    """Save one message; a retry with the same client message id returns the first save (``created=False``)."""
    result = await save_messages(store, user_id, session_id, [new])
    if result.failed:
        raise ClientMessageIdReusedError
    return result.saved[0]


async def save_messages(store: ChatStore, user_id: str, session_id: str, batch: Sequence[NewMessage]) -> BatchResult:
    """Save a batch in one transaction, in order; a reused client id fails only its own item."""
    _check_session_id(session_id)
    now = utc_now()
    rows = [_message(user_id, session_id, new, now) for new in batch]
    model = next((new.model for new in reversed(batch) if new.model), None)
    async with store.transaction() as chats:
        # Locking the session row first serialises concurrent saves to it, so replays find what the winner wrote.
        if not await chats.touch_session(user_id, session_id, model, now):
            raise ChatSessionNotFoundError(session_id)
        inserted = await chats.add_messages(rows)
        skipped = [row.client_message_id for row in rows if row.id not in inserted and row.client_message_id]
        earlier = await chats.find_by_client_ids(session_id, skipped) if skipped else {}
    return _batch_result(batch, rows, inserted, earlier)


def _message(user_id: str, session_id: str, new: NewMessage, now: datetime) -> ChatMessage:
    return ChatMessage(
        id=rules.new_message_id(),
        session_id=session_id,
        user_id=user_id,
        client_message_id=new.client_message_id,
        role=new.role,
        content=new.content,
        model=new.model,
        tokens=new.tokens,
        created_at=now,
    )


def _batch_result(
    batch: Sequence[NewMessage], rows: Sequence[ChatMessage], inserted: set[str], earlier: dict[str, ChatMessage]
) -> BatchResult:
    saved: list[SavedMessage] = []
    failed: list[BatchFailure] = []
    for index, (new, row) in enumerate(zip(batch, rows, strict=True)):
        if row.id in inserted:
            saved.append(SavedMessage(message=row, created=True))
            continue
        # Skipped: an earlier call (or an earlier item of this batch) holds the client id.
        first = earlier[row.client_message_id or ""]
        if rules.is_replay(first, new):
            saved.append(SavedMessage(message=first, created=False))
        else:
            error = ClientMessageIdReusedError()
            failed.append(
                BatchFailure(
                    index=index, client_message_id=new.client_message_id, code=error.code, message=error.message
                )
            )
    return BatchResult(saved=saved, failed=failed)


# --- search and stats ----------------------------------------------------------------------------------------------


async def search_sessions(
    store: ChatStore, user_id: str, query: str, page: PageRequest[SessionPosition]
) -> Page[ChatSession]:
    """The user's live sessions whose title or any message matches ``query`` (web-search syntax)."""
    async with store.transaction() as chats:
        rows = await chats.search_sessions(user_id, query, page)
    return rules.session_page(rows, page.limit)


async def chat_totals(store: ChatStore, user_id: str) -> ChatTotals:
    async with store.transaction() as chats:
        return await chats.totals(user_id)


# --- feedback ------------------------------------------------------------------------------------------------------


async def submit_feedback(store: ChatStore, user_id: str, new: NewFeedback) -> tuple[Feedback, bool]:
    """Feedback on the user's own session and/or message; again on the same message replaces it."""
    now = utc_now()
    async with store.transaction() as chats:
        session_id = await _feedback_target(chats, user_id, new)
        feedback = Feedback(
            id=rules.new_feedback_id(),
            user_id=user_id,
            session_id=session_id,
            message_id=new.message_id,
            feedback_type=new.feedback_type,
            rating=new.rating,
            comment=new.comment,
            model=new.model,
            metadata=new.metadata,
            created_at=now,
            updated_at=now,
        )
        return await chats.put_feedback(feedback)


async def _feedback_target(chats: ChatRecords, user_id: str, new: NewFeedback) -> str | None:
    """The session the feedback belongs to, checked to be the user's (a message implies its session)."""
    if new.message_id is None:
        return None if new.session_id is None else (await _owned(chats, user_id, new.session_id)).id
    message = await chats.get_message(user_id, new.message_id) if rules.is_record_id(new.message_id) else None
    if message is None or (new.session_id is not None and new.session_id != message.session_id):
        raise ChatMessageNotFoundError(new.message_id)
    return message.session_id


async def list_feedback(
    store: ChatStore, user_id: str, where: FeedbackFilter, page: PageRequest[SeqPosition]
) -> Page[Feedback]:
    async with store.transaction() as chats:
        rows = await chats.list_feedback(user_id, where, page)
    return rules.feedback_page(rows, page.limit)


async def list_session_feedback(
    store: ChatStore, user_id: str, session_id: str, page: PageRequest[SeqPosition]
) -> Page[Feedback]:
    async with store.transaction() as chats:
        await _owned(chats, user_id, session_id)
        rows = await chats.list_feedback(user_id, FeedbackFilter(session_id=session_id), page)
    return rules.feedback_page(rows, page.limit)


async def update_feedback(store: ChatStore, user_id: str, feedback_id: str, change: FeedbackChange) -> Feedback:
    _check_feedback_id(feedback_id)
    async with store.transaction() as chats:
        feedback = await chats.update_feedback(user_id, feedback_id, change, utc_now())
    if feedback is None:
        raise FeedbackNotFoundError(feedback_id)
    return feedback


async def delete_feedback(store: ChatStore, user_id: str, feedback_id: str) -> None:
    _check_feedback_id(feedback_id)
    async with store.transaction() as chats:
        if not await chats.delete_feedback(user_id, feedback_id):
            raise FeedbackNotFoundError(feedback_id)


async def feedback_stats(store: ChatStore, user_id: str, days: int, model: str | None) -> FeedbackStats:
    since = rules.stats_since(utc_now(), days)
    model = rules.checked_model(model)
    async with store.transaction() as chats:
        tallies = await chats.feedback_tallies(user_id, since, model)
    return rules.feedback_stats(tallies, days)
