"""The bodies and answers of the chat history and feedback routes: what a caller may send, what it gets back."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, Meta, UnsetType

from tollway.gateway.chat_history import BatchResult
from tollway.gateway.domain import chats as rules
from tollway.gateway.domain.chats import (
    ChatMessage,
    ChatSession,
    ChatTotals,
    Feedback,
    FeedbackStats,
    FeedbackType,
    ModelTally,
    NewFeedback,
    NewMessage,
    Page,
    Role,
)
from tollway.gateway.domain.errors import InvalidInputError

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
