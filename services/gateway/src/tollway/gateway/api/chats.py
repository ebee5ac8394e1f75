"""Chat history and feedback routes (``/v1/chat/...`` except completions): the caller's own records only."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, Router, delete, get, post, put
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.types import ExceptionHandlersMap
from msgspec import UNSET, Meta, UnsetType

from tollway.gateway import chat_history
from tollway.gateway.api.accounts_auth import ACCOUNT_EXCEPTION_HANDLERS, on_account_error, provide_principal
from tollway.gateway.api.errors import error_response
from tollway.gateway.chat_history import BatchResult, SavedMessage
from tollway.gateway.db.chat_store import SqlAlchemyChatStore
from tollway.gateway.domain import chats as rules
from tollway.gateway.domain.accounts import Principal
from tollway.gateway.domain.chats import (
    ChatMessage,
    ChatSession,
    ChatTotals,
    Feedback,
    FeedbackChange,
    FeedbackStats,
    FeedbackType,
    ModelTally,
    NewFeedback,
    NewMessage,
    Page,
    Role,
    SessionChange,
)
from tollway.gateway.domain.errors import GatewayError, InvalidInputError

Caller = NamedDependency[Principal]
Chats = NamedDependency[SqlAlchemyChatStore]  # a concrete type: Litestar checks dependencies with isinstance

METADATA_MAX_BYTES = 8_192

# --- bodies: unknown fields are refused (422), so nothing server-owned (ids, owner, times) can be assigned ---------

NUL = rules.NO_NUL
Title = Annotated[str, Meta(min_length=1, max_length=rules.TITLE_MAX, pattern=NUL)]
Model = Annotated[str, Meta(min_length=1, max_length=rules.MODEL_MAX, pattern=NUL)]
ObjectId = Annotated[str, Meta(min_length=1, max_length=32, pattern=NUL)]
ClientMessageId = Annotated[str, Meta(min_length=1, max_length=rules.CLIENT_MESSAGE_ID_MAX, pattern=NUL)]
Content = Annotated[str, Meta(max_length=rules.CONTENT_MAX, pattern=NUL)]
Tokens = Annotated[int, Meta(ge=0, le=2**31 - 1)]
Rating = Annotated[int, Meta(ge=1, le=5)]
Comment = Annotated[str, Meta(max_length=rules.COMMENT_MAX, pattern=NUL)]
Query = Annotated[str, Meta(min_length=1, max_length=rules.SEARCH_QUERY_MAX, pattern=NUL)]


class SessionIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    title: Title | None = None
    model: Model | None = None


class SessionUpdateIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    title: Title | UnsetType | None = UNSET
    model: Model | UnsetType | None = UNSET


class MessageIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    role: Role
    content: Content
    client_message_id: ClientMessageId | None = None
    model: Model | None = None
    tokens: Tokens = 0

    def to_new(self) -> NewMessage:
        return NewMessage(**msgspec.structs.asdict(self))


class MessageBatchIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    messages: Annotated[list[MessageIn], Meta(min_length=1, max_length=rules.BATCH_MAX)]


class SearchIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    query: Query
    limit: int = rules.DEFAULT_LIMIT
    cursor: str | None = None


class FeedbackIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    feedback_type: FeedbackType
    session_id: ObjectId | None = None
    message_id: ObjectId | None = None
    rating: Rating | None = None
    comment: Comment | None = None
    model: Model | None = None
    metadata: dict[str, Any] | None = None

    def to_new(self) -> NewFeedback:
        encoded = b"" if self.metadata is None else msgspec.json.encode(self.metadata)
        if len(encoded) > METADATA_MAX_BYTES or b"\\u0000" in encoded:
            raise InvalidInputError(
                f"metadata must encode to at most {METADATA_MAX_BYTES} bytes, without NUL", "metadata"
            )
        return NewFeedback(**msgspec.structs.asdict(self))


class FeedbackUpdateIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    feedback_type: FeedbackType | UnsetType = UNSET
    rating: Rating | UnsetType | None = UNSET
    comment: Comment | UnsetType | None = UNSET


# --- answers -------------------------------------------------------------------------------------------------------


class SessionOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    user_id: str
    title: str
    model: str | None
    created_at: datetime
    updated_at: datetime
    object: str = "chat.session"

    @classmethod
    def of(cls, session: ChatSession) -> SessionOut:
        fields = msgspec.structs.asdict(session)
        del fields["seq"]
        return cls(**fields)


class SessionListOut(msgspec.Struct, frozen=True, kw_only=True):
    data: list[SessionOut]
    has_more: bool
    next_cursor: str | None
    object: str = "list"

    @classmethod
    def of(cls, page: Page[ChatSession]) -> SessionListOut:
        data = [SessionOut.of(s) for s in page.items]
        return cls(data=data, has_more=page.next_cursor is not None, next_cursor=page.next_cursor)


class MessageOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    session_id: str
    client_message_id: str | None
    role: str
    content: str
    model: str | None
    tokens: int
    created_at: datetime
    object: str = "chat.message"

    @classmethod
    def of(cls, message: ChatMessage) -> MessageOut:
        fields = msgspec.structs.asdict(message)
        del fields["seq"], fields["user_id"]
        return cls(**fields)


class MessageListOut(msgspec.Struct, frozen=True, kw_only=True):
    data: list[MessageOut]
    has_more: bool
    next_cursor: str | None
    object: str = "list"

    @classmethod
    def of(cls, page: Page[ChatMessage]) -> MessageListOut:
        data = [MessageOut.of(m) for m in page.items]
        return cls(data=data, has_more=page.next_cursor is not None, next_cursor=page.next_cursor)


class SessionDetailOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    user_id: str
    title: str
    model: str | None
    created_at: datetime
    updated_at: datetime
    messages: MessageListOut  # the first page; ``messages.next_cursor`` pages on via ``?cursor=``
    object: str = "chat.session"

    @classmethod
    def of(cls, session: ChatSession, messages: Page[ChatMessage]) -> SessionDetailOut:
        head = msgspec.structs.asdict(SessionOut.of(session))
        del head["object"]
        return cls(**head, messages=MessageListOut.of(messages))


class DeletedOut(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    id: str
    object: str
    deleted: bool
    purged: bool = False  # shown only when true: messages and feedback are gone too


class ErrorDetail(msgspec.Struct, frozen=True, kw_only=True):
    code: str
    message: str


class BatchFailureOut(msgspec.Struct, frozen=True, kw_only=True):
    index: int
    client_message_id: str | None
    error: ErrorDetail


class BatchOut(msgspec.Struct, frozen=True, kw_only=True):
    data: list[MessageOut]  # saved (or already saved) messages, in the order sent
    failed: list[BatchFailureOut]
    total: int
    success_count: int
    failure_count: int
    object: str = "chat.message.batch"

    @classmethod
    def of(cls, result: BatchResult) -> BatchOut:
        failed = [
            BatchFailureOut(
                index=f.index, client_message_id=f.client_message_id, error=ErrorDetail(code=f.code, message=f.message)
            )
            for f in result.failed
        ]
        return cls(
            data=[MessageOut.of(s.message) for s in result.saved],
            failed=failed,
            total=len(result.saved) + len(result.failed),
            success_count=len(result.saved),
            failure_count=len(result.failed),
        )


class StatsOut(msgspec.Struct, frozen=True, kw_only=True):
    total_sessions: int
    total_messages: int
    total_tokens: int
    object: str = "chat.stats"

    @classmethod
    def of(cls, totals: ChatTotals) -> StatsOut:
        return cls(**msgspec.structs.asdict(totals))


class FeedbackOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    session_id: str | None
    message_id: str | None
    feedback_type: str
    rating: int | None
    comment: str | None
    model: str | None
    metadata: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime
    object: str = "chat.feedback"

    @classmethod
    def of(cls, feedback: Feedback) -> FeedbackOut:
        fields = msgspec.structs.asdict(feedback)
        del fields["seq"], fields["user_id"]
        return cls(**fields)


class FeedbackListOut(msgspec.Struct, frozen=True, kw_only=True):
    data: list[FeedbackOut]
    has_more: bool
    next_cursor: str | None
    object: str = "list"

    @classmethod
    def of(cls, page: Page[Feedback]) -> FeedbackListOut:
        data = [FeedbackOut.of(f) for f in page.items]
        return cls(data=data, has_more=page.next_cursor is not None, next_cursor=page.next_cursor)


class FeedbackStatsOut(msgspec.Struct, frozen=True, kw_only=True):
    period_days: int
    model: str | None
    total_feedback: int
    thumbs_up: int
    thumbs_down: int
    regenerate: int
    thumbs_up_rate: float
    thumbs_down_rate: float
    average_rating: float | None
    by_model: dict[str, ModelTally]
    object: str = "chat.feedback_stats"

    @classmethod
    def of(cls, stats: FeedbackStats, model: str | None) -> FeedbackStatsOut:
        return cls(**msgspec.structs.asdict(stats), model=model)


# --- routes --------------------------------------------------------------------------------------------------------


class ChatSessionController(Controller):
    path = "/sessions"

    @get("/")
    async def list_sessions(
        self,
        caller: Caller,
        chats: Chats,
        limit: FromQuery[int] = rules.DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
    ) -> SessionListOut:
        page = rules.session_page_request(limit, cursor)
        return SessionListOut.of(await chat_history.list_sessions(chats, caller.user_id, page))

    @post("/")
    async def create_session(self, data: JSONBody[SessionIn], caller: Caller, chats: Chats) -> SessionOut:
        return SessionOut.of(await chat_history.create_session(chats, caller.user_id, data.title, data.model))

    @get("/{session_id:str}")
    async def get_session(
        self,
        session_id: FromPath[str],
        caller: Caller,
        chats: Chats,
        limit: FromQuery[int] = rules.DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
    ) -> SessionDetailOut:
        page = rules.seq_page_request(limit, cursor)
        session, messages = await chat_history.get_session(chats, caller.user_id, session_id, page)
        return SessionDetailOut.of(session, messages)

    @put("/{session_id:str}")
    async def update_session(
        self, session_id: FromPath[str], data: JSONBody[SessionUpdateIn], caller: Caller, chats: Chats
    ) -> SessionOut:
        change = SessionChange(**msgspec.structs.asdict(data))
        return SessionOut.of(await chat_history.update_session(chats, caller.user_id, session_id, change))

    @delete("/{session_id:str}", status_code=200)
    async def delete_session(
        self, session_id: FromPath[str], caller: Caller, chats: Chats, purge: FromQuery[bool] = False
    ) -> DeletedOut:
        await chat_history.delete_session(chats, caller.user_id, session_id, purge=purge)
        return DeletedOut(id=session_id, object="chat.session", deleted=True, purged=purge)

    @get("/{session_id:str}/messages")
    async def list_messages(
        self,
        session_id: FromPath[str],
        caller: Caller,
        chats: Chats,
        limit: FromQuery[int] = rules.DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
    ) -> MessageListOut:
        page = rules.seq_page_request(limit, cursor)
        return MessageListOut.of(await chat_history.list_messages(chats, caller.user_id, session_id, page))

    @post("/{session_id:str}/messages")
    async def save_message(
        self, session_id: FromPath[str], data: JSONBody[MessageIn], caller: Caller, chats: Chats
    ) -> Response[MessageOut]:
        saved = await chat_history.save_message(chats, caller.user_id, session_id, data.to_new())
        return _saved(saved)

    @post("/{session_id:str}/messages/batch", status_code=200)
    async def save_messages(
        self, session_id: FromPath[str], data: JSONBody[MessageBatchIn], caller: Caller, chats: Chats
    ) -> BatchOut:
        batch = [message.to_new() for message in data.messages]
        return BatchOut.of(await chat_history.save_messages(chats, caller.user_id, session_id, batch))

    @get("/{session_id:str}/feedback")
    async def list_session_feedback(
        self,
        session_id: FromPath[str],
        caller: Caller,
        chats: Chats,
        limit: FromQuery[int] = rules.FEEDBACK_DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
    ) -> FeedbackListOut:
        page = rules.seq_page_request(limit, cursor)
        return FeedbackListOut.of(await chat_history.list_session_feedback(chats, caller.user_id, session_id, page))


def _saved(saved: SavedMessage) -> Response[MessageOut]:
    # A replay answers 200 with the first save, so a client can tell a retry from a new message.
    status = 201 if saved.created else 200
    headers = {} if saved.created else {"idempotent-replayed": "true"}
    return Response(MessageOut.of(saved.message), status_code=status, headers=headers)


class FeedbackController(Controller):
    path = "/feedback"

    @get("/")
    async def list_feedback(
        self,
        *,
        caller: Caller,
        chats: Chats,
        feedback_type: FromQuery[str | None] = None,
        session_id: FromQuery[str | None] = None,
        model: FromQuery[str | None] = None,
        limit: FromQuery[int] = rules.FEEDBACK_DEFAULT_LIMIT,
        cursor: FromQuery[str | None] = None,
    ) -> FeedbackListOut:
        where = rules.feedback_filter(feedback_type, session_id, model)
        page = rules.seq_page_request(limit, cursor)
        return FeedbackListOut.of(await chat_history.list_feedback(chats, caller.user_id, where, page))

    @post("/")
    async def submit_feedback(self, data: JSONBody[FeedbackIn], caller: Caller, chats: Chats) -> Response[FeedbackOut]:
        feedback, created = await chat_history.submit_feedback(chats, caller.user_id, data.to_new())
        return Response(FeedbackOut.of(feedback), status_code=201 if created else 200)

    @get("/stats")
    async def feedback_stats(
        self,
        caller: Caller,
        chats: Chats,
        days: FromQuery[int] = rules.STATS_DEFAULT_DAYS,
        model: FromQuery[str | None] = None,
    ) -> FeedbackStatsOut:
        stats = await chat_history.feedback_stats(chats, caller.user_id, days, model)
        return FeedbackStatsOut.of(stats, model)

    @put("/{feedback_id:str}")
    async def update_feedback(
        self, feedback_id: FromPath[str], data: JSONBody[FeedbackUpdateIn], caller: Caller, chats: Chats
    ) -> FeedbackOut:
        change = FeedbackChange(**msgspec.structs.asdict(data))
        return FeedbackOut.of(await chat_history.update_feedback(chats, caller.user_id, feedback_id, change))

    @delete("/{feedback_id:str}", status_code=200)
    async def delete_feedback(self, feedback_id: FromPath[str], caller: Caller, chats: Chats) -> DeletedOut:
        await chat_history.delete_feedback(chats, caller.user_id, feedback_id)
        return DeletedOut(id=feedback_id, object="chat.feedback", deleted=True)


@post("/search", status_code=200)
async def search_sessions(data: JSONBody[SearchIn], caller: Caller, chats: Chats) -> SessionListOut:
    page = rules.session_page_request(data.limit, data.cursor)
    return SessionListOut.of(await chat_history.search_sessions(chats, caller.user_id, data.query, page))


@get("/stats")
async def chat_stats(caller: Caller, chats: Chats) -> StatsOut:
    return StatsOut.of(await chat_history.chat_totals(chats, caller.user_id))


# --- wiring --------------------------------------------------------------------------------------------------------


def provide_chats(request: ASGIConnection[Any, Any, Any, Any]) -> SqlAlchemyChatStore:
    """The chat store over the app's engine, built once per app."""
    state = request.app.state
    store: SqlAlchemyChatStore | None = state.get("chat_store")
    if store is None:
        store = SqlAlchemyChatStore(state.infra.require_engine())
        state.chat_store = store
    return store


READ_ONLY = frozenset({"GET", "HEAD"})
SEARCH_PATH = "/v1/chat/search"  # a POST only because the query travels in the body


async def provide_caller(request: Request[Any, Any, Any]) -> Principal:
    """A session token or an API key (ADR 009): reading needs the ``read`` scope, writing ``inference``."""
    principal = await provide_principal(request)
    reads = request.method in READ_ONLY or request.url.path == SEARCH_PATH
    principal.require("read" if reads else "inference")
    return principal


def on_chat_error(request: Request[Any, Any, Any], exc: GatewayError) -> Response[dict[str, Any]]:
    # A bad query value or cursor is 422 like a bad body field (the seed's status for both).
    if isinstance(exc, InvalidInputError):
        return error_response(422, exc.message, code=exc.code, param=exc.param)
    return on_account_error(request, exc)


# The account routes' answers (401, 403 scope, 422 for bodies that break the schema, 400 for malformed JSON).
CHAT_EXCEPTION_HANDLERS: ExceptionHandlersMap = {**ACCOUNT_EXCEPTION_HANDLERS, GatewayError: on_chat_error}


def chats_router() -> Router:
    """A fresh router per app (routers are bound to the app that registers them)."""
    return Router(
        path="/v1/chat",
        route_handlers=[ChatSessionController, FeedbackController, search_sessions, chat_stats],
        dependencies={
            "caller": Provide(provide_caller),
            "chats": Provide(provide_chats, sync_to_thread=False),
        },
        exception_handlers=CHAT_EXCEPTION_HANDLERS,
    )
