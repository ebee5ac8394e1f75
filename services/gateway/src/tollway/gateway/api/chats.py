"""Chat history and feedback routes (``/v1/chat/...`` except completions): the caller's own records only."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, Response, Router, delete, get, post, put
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.types import ExceptionHandlersMap

from tollway.gateway import chat_history
from tollway.gateway.api.accounts_auth import ACCOUNT_EXCEPTION_HANDLERS, on_account_error, provide_principal
from tollway.gateway.api.chats_schemas import (
    BatchOut,
    DeletedOut,
    FeedbackIn,
    FeedbackListOut,
    FeedbackOut,
    FeedbackStatsOut,
    FeedbackUpdateIn,
    MessageBatchIn,
    MessageIn,
    MessageListOut,
    MessageOut,
    SearchIn,
    SessionDetailOut,
    SessionIn,
    SessionListOut,
    SessionOut,
    SessionUpdateIn,
    StatsOut,
)
from tollway.gateway.api.errors import error_response
from tollway.gateway.chat_history import SavedMessage
from tollway.gateway.db.chat_store import SqlAlchemyChatStore
from tollway.gateway.domain import chats as rules
from tollway.gateway.domain.accounts import Principal
from tollway.gateway.domain.chats import (
    FeedbackChange,
    SessionChange,
)
from tollway.gateway.domain.errors import GatewayError, InvalidInputError

Caller = NamedDependency[Principal]
Chats = NamedDependency[SqlAlchemyChatStore]  # a concrete type: Litestar checks dependencies with isinstance

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
