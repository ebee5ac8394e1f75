"""Chat history and feedback rules: records, input limits, page cursors, idempotent replays and tallies (pure)."""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from datetime import datetime, timedelta
from typing import Any, Generic, Literal, TypeVar

import msgspec

from tollway.gateway.domain.api_keys import ALPHABET
from tollway.gateway.domain.errors import ConflictError, InvalidInputError, NotFoundError

Role = Literal["user", "assistant", "system", "tool"]
FeedbackType = Literal["thumbs_up", "thumbs_down", "regenerate"]
FEEDBACK_TYPES: tuple[FeedbackType, ...] = ("thumbs_up", "thumbs_down", "regenerate")

# Input limits, enforced on the HTTP bodies (422) and by the column sizes.
TITLE_MAX = 200
MODEL_MAX = 200
CLIENT_MESSAGE_ID_MAX = 64
CONTENT_MAX = 200_000
COMMENT_MAX = 4_000
SEARCH_QUERY_MAX = 200
BATCH_MAX = 100
MAX_LIMIT = 100
DEFAULT_LIMIT = 20
FEEDBACK_DEFAULT_LIMIT = 50
STATS_MAX_DAYS = 365
STATS_DEFAULT_DAYS = 30

# Full-text search: English stemming; only the head of very long messages is indexed, because a tsvector is
# capped at 1 MB and one oversized message must not make its insert fail.
SEARCH_CONFIG = "english"
SEARCH_INDEXED_CHARS = 100_000

_ID_RANDOM_CHARS = 24
_RECORD_ID = re.compile(r"[a-z]{2,4}_[0-9A-Za-z]{24}")
# Postgres text cannot hold NUL; refusing it up front keeps such input a 422 instead of a database error.
NO_NUL = r"^[^\x00]*$"


def _new_id(prefix: str) -> str:
    return prefix + "".join(secrets.choice(ALPHABET) for _ in range(_ID_RANDOM_CHARS))


def new_session_id() -> str:
    return _new_id("chat_")


def new_message_id() -> str:
    return _new_id("msg_")


def new_feedback_id() -> str:
    return _new_id("fb_")


def is_record_id(value: str) -> bool:
    """Shaped like an id this module makes; anything else cannot exist, so it is not looked up."""
    return _RECORD_ID.fullmatch(value) is not None


def feedback_filter(feedback_type: str | None, session_id: str | None, model: str | None) -> FeedbackFilter:
    """Validate the list filters once, with the parameter named in every error."""
    kind = next((k for k in FEEDBACK_TYPES if k == feedback_type), None)
    if feedback_type is not None and kind is None:
        raise InvalidInputError(f"feedback_type must be one of {', '.join(FEEDBACK_TYPES)}", "feedback_type")
    if session_id is not None and not is_record_id(session_id):
        raise InvalidInputError("session_id is not a chat session id", "session_id")
    return FeedbackFilter(feedback_type=kind, session_id=session_id, model=checked_model(model))


def checked_model(model: str | None) -> str | None:
    if model is not None and (len(model) > MODEL_MAX or "\x00" in model):
        raise InvalidInputError(f"model must be at most {MODEL_MAX} characters, without NUL", "model")
    return model


def default_title(now: datetime) -> str:
    """The seed's title for an untitled session: ``Chat YYYY-MM-DD HH:MM`` (UTC)."""
    return f"Chat {now:%Y-%m-%d %H:%M}"


class ChatSession(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    user_id: str
    title: str
    model: str | None
    created_at: datetime
    updated_at: datetime
    seq: int = 0  # insertion order: the tie-breaker of the page cursor


class SessionChange(msgspec.Struct, frozen=True, kw_only=True):
    """A PUT: absent fields stay; ``title: null`` resets to the default title, ``model: null`` clears it."""

    title: str | msgspec.UnsetType | None = msgspec.UNSET
    model: str | msgspec.UnsetType | None = msgspec.UNSET


class NewMessage(msgspec.Struct, frozen=True, kw_only=True):
    role: Role
    content: str
    client_message_id: str | None = None
    model: str | None = None
    tokens: int = 0


class ChatMessage(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    session_id: str
    user_id: str
    client_message_id: str | None
    role: str
    content: str
    model: str | None
    tokens: int
    created_at: datetime
    seq: int = 0


def is_replay(existing: ChatMessage, new: NewMessage) -> bool:
    """The same client message id with the same message is a retry; anything else reuses the id by mistake."""
    return (existing.role, existing.content, existing.model, existing.tokens) == (
        new.role,
        new.content,
        new.model,
        new.tokens,
    )


class NewFeedback(msgspec.Struct, frozen=True, kw_only=True):
    feedback_type: FeedbackType
    session_id: str | None = None
    message_id: str | None = None
    rating: int | None = None
    comment: str | None = None
    model: str | None = None
    metadata: dict[str, Any] | None = None


class FeedbackChange(msgspec.Struct, frozen=True, kw_only=True):
    """A PUT: absent fields stay; ``rating``/``comment`` set to null clear them."""

    feedback_type: FeedbackType | msgspec.UnsetType = msgspec.UNSET
    rating: int | msgspec.UnsetType | None = msgspec.UNSET
    comment: str | msgspec.UnsetType | None = msgspec.UNSET


class Feedback(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    user_id: str
    session_id: str | None
    message_id: str | None
    feedback_type: str
    rating: int | None
    comment: str | None
    model: str | None
    metadata: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime
    seq: int = 0


class FeedbackFilter(msgspec.Struct, frozen=True, kw_only=True):
    feedback_type: FeedbackType | None = None
    session_id: str | None = None
    model: str | None = None


class ChatTotals(msgspec.Struct, frozen=True, kw_only=True):
    """Totals over the user's live sessions only, so the three numbers describe the same sessions."""

    total_sessions: int
    total_messages: int
    total_tokens: int


class FeedbackTally(msgspec.Struct, frozen=True, kw_only=True):
    """One (model, type) group of a user's feedback, counted in SQL."""

    model: str | None
    feedback_type: str
    count: int
    rating_sum: int
    rating_count: int


class ModelTally(msgspec.Struct, frozen=True, kw_only=True):
    thumbs_up: int = 0
    thumbs_down: int = 0
    regenerate: int = 0
    total: int = 0


class FeedbackStats(msgspec.Struct, frozen=True, kw_only=True):
    period_days: int
    total_feedback: int
    thumbs_up: int
    thumbs_down: int
    regenerate: int
    thumbs_up_rate: float  # percent of all feedback, 2 decimals (a ratio, not money)
    thumbs_down_rate: float
    average_rating: float | None
    by_model: dict[str, ModelTally]


UNKNOWN_MODEL = "unknown"


def feedback_stats(tallies: list[FeedbackTally], period_days: int) -> FeedbackStats:
    counts: dict[str, int] = dict.fromkeys(FEEDBACK_TYPES, 0)
    by_model: dict[str, dict[str, int]] = {}
    rating_sum = rating_count = 0
    for tally in tallies:
        counts[tally.feedback_type] = counts.get(tally.feedback_type, 0) + tally.count
        group = by_model.setdefault(tally.model or UNKNOWN_MODEL, dict.fromkeys((*FEEDBACK_TYPES, "total"), 0))
        group[tally.feedback_type] += tally.count
        group["total"] += tally.count
        rating_sum += tally.rating_sum
        rating_count += tally.rating_count
    total = sum(counts.values())
    return FeedbackStats(
        period_days=period_days,
        total_feedback=total,
        thumbs_up=counts["thumbs_up"],
        thumbs_down=counts["thumbs_down"],
        regenerate=counts["regenerate"],
        thumbs_up_rate=_percent(counts["thumbs_up"], total),
        thumbs_down_rate=_percent(counts["thumbs_down"], total),
        average_rating=round(rating_sum / rating_count, 2) if rating_count else None,
        by_model={model: ModelTally(**group) for model, group in sorted(by_model.items())},
    )


def _percent(part: int, total: int) -> float:
    return round(100 * part / total, 2) if total else 0.0


def stats_since(now: datetime, days: int) -> datetime:
    """Start of the stats window: ``days`` back from now, at midnight UTC (the seed's window)."""
    if not 1 <= days <= STATS_MAX_DAYS:
        raise InvalidInputError(f"days must be between 1 and {STATS_MAX_DAYS}", "days")
    return (now - timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0)


# --- pages -------------------------------------------------------------------------------------------------------


class SessionPosition(msgspec.Struct, frozen=True, array_like=True, tag="s"):
    """The last session of a page (newest activity first); the next page starts strictly after it."""

    updated_at: datetime
    seq: int


class SeqPosition(msgspec.Struct, frozen=True, array_like=True, tag="q"):
    """The last message or feedback of a page, by insertion order."""

    seq: int


PositionT = TypeVar("PositionT", SessionPosition, SeqPosition)
ItemT = TypeVar("ItemT")


class PageRequest(msgspec.Struct, Generic[PositionT], frozen=True, kw_only=True):
    limit: int
    after: PositionT | None = None


class Page(msgspec.Struct, Generic[ItemT], frozen=True):
    items: list[ItemT]
    next_cursor: str | None


_encoder = msgspec.json.Encoder()
_session_decoder = msgspec.json.Decoder(SessionPosition)
_seq_decoder = msgspec.json.Decoder(SeqPosition)


def encode_cursor(position: SessionPosition | SeqPosition) -> str:
    return base64.urlsafe_b64encode(_encoder.encode(position)).decode().rstrip("=")


def _decode(decoder: msgspec.json.Decoder[PositionT], cursor: str) -> PositionT:
    try:
        return decoder.decode(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise InvalidInputError("cursor is not one this API returned", "cursor") from None


def _checked_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInputError(f"limit must be between 1 and {MAX_LIMIT}", "limit")
    return limit


def session_page_request(limit: int, cursor: str | None) -> PageRequest[SessionPosition]:
    after = None if cursor is None else _decode(_session_decoder, cursor)
    return PageRequest(limit=_checked_limit(limit), after=after)


def seq_page_request(limit: int, cursor: str | None) -> PageRequest[SeqPosition]:
    after = None if cursor is None else _decode(_seq_decoder, cursor)
    return PageRequest(limit=_checked_limit(limit), after=after)


def session_page(rows: list[ChatSession], limit: int) -> Page[ChatSession]:
    """``rows`` holds up to ``limit + 1`` items: the extra one only says whether a next page exists."""
    items = rows[:limit]
    more = len(rows) > limit
    return Page(items, encode_cursor(SessionPosition(items[-1].updated_at, items[-1].seq)) if more else None)


def message_page(rows: list[ChatMessage], limit: int) -> Page[ChatMessage]:
    items = rows[:limit]
    return Page(items, encode_cursor(SeqPosition(items[-1].seq)) if len(rows) > limit else None)


def feedback_page(rows: list[Feedback], limit: int) -> Page[Feedback]:
    items = rows[:limit]
    return Page(items, encode_cursor(SeqPosition(items[-1].seq)) if len(rows) > limit else None)


# --- failures ----------------------------------------------------------------------------------------------------


class ChatSessionNotFoundError(NotFoundError):
    code = "chat_session_not_found"

    def __init__(self, session_id: str) -> None:
        # Also for another user's or a deleted session: the answer never says which.
        super().__init__(f"no chat session with id {session_id!r}", "session_id")


class ChatMessageNotFoundError(NotFoundError):
    code = "chat_message_not_found"

    def __init__(self, message_id: str) -> None:
        super().__init__(f"no chat message with id {message_id!r}", "message_id")


class FeedbackNotFoundError(NotFoundError):
    code = "feedback_not_found"

    def __init__(self, feedback_id: str) -> None:
        super().__init__(f"no feedback with id {feedback_id!r}", "feedback_id")


class ClientMessageIdReusedError(ConflictError):
    code = "client_message_id_reused"

    def __init__(self) -> None:
        super().__init__(
            "client_message_id was already used for a different message in this session", "client_message_id"
        )
