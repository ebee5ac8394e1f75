"""Request records: the one row shape both usage events (completed and failed) are stored in."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from tollway.contracts import ProviderAttemptV1, RequestCompletedV1, RequestFailedV1

RecordStatus = Literal["ok", "cancelled", "failed"]


class RequestRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One request as analytics keeps it; failed requests carry zero tokens and cost and their attempts."""

    request_id: str
    occurred_at: datetime
    status: RecordStatus
    user_id: str | None
    account_id: str | None
    api_key_id: str | None
    is_anonymous: bool
    requested_model: str
    provider: str | None = None
    upstream_model: str | None = None
    is_fallback: bool = False
    attempts: int = 0
    failed_attempts: tuple[ProviderAttemptV1, ...] | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    usage_estimated: bool = False
    cost_micros: int = 0
    latency_ms: int = 0
    ttft_ms: int | None = None
    api: str = "openai"
    stream: bool = False
    error_class: str | None = None
    status_code: int | None = None


def from_completed(event: RequestCompletedV1) -> RequestRecord:
    return RequestRecord(
        request_id=event.request_id,
        occurred_at=event.occurred_at,
        status=event.status,
        user_id=event.user_id,
        account_id=event.account_id,
        api_key_id=event.api_key_id,
        is_anonymous=event.is_anonymous,
        requested_model=event.requested_model,
        provider=event.provider,
        upstream_model=event.upstream_model,
        is_fallback=event.is_fallback,
        attempts=event.attempts,
        prompt_tokens=event.prompt_tokens,
        completion_tokens=event.completion_tokens,
        cache_read_tokens=event.cache_read_tokens,
        cache_write_tokens=event.cache_write_tokens,
        reasoning_tokens=event.reasoning_tokens,
        usage_estimated=event.usage_estimated,
        cost_micros=event.cost_micros,
        latency_ms=event.latency_ms,
        ttft_ms=event.ttft_ms,
        api=event.api,
        stream=event.stream,
    )


def from_failed(event: RequestFailedV1) -> RequestRecord:
    return RequestRecord(
        request_id=event.request_id,
        occurred_at=event.occurred_at,
        status="failed",
        user_id=event.user_id,
        account_id=event.account_id,
        api_key_id=event.api_key_id,
        is_anonymous=event.is_anonymous,
        requested_model=event.requested_model,
        attempts=len(event.attempts),
        failed_attempts=event.attempts,
        latency_ms=event.latency_ms,
        api=event.api,
        stream=event.stream,
        error_class=event.error_class,
        status_code=event.status_code,
    )


def distinct(records: list[RequestRecord]) -> list[RequestRecord]:
    """The first record of each request id, in a stable order (by id) so concurrent writers lock alike."""
    first: dict[str, RequestRecord] = {}
    for record in records:
        first.setdefault(record.request_id, record)
    return [first[request_id] for request_id in sorted(first)]
