"""Exactly one usage event per request: every path of a request ends in the one ``UsageRecorder``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from tollway.contracts import ProviderAttemptV1, RequestCompletedV1, RequestFailedV1
from tollway.inference_router.domain.canonical import Usage
from tollway.inference_router.domain.commands import ServeChat
from tollway.inference_router.domain.public_format import api_family, endpoint_of
from tollway.inference_router.domain.routing import Attempt
from tollway.inference_router.ports import Clock, UsageSink
from tollway.inference_router.usage_metrics import observe


class UsageRecorder:
    """Collects what happened to one request and emits its single event, whichever way the request ends.

    ``completed`` and ``failed`` emit; the first one wins and later calls are ignored, so no path can emit twice.
    ``ensure_recorded`` is called in a ``finally`` on every path (stream, non-stream, error, cancellation), so
    no path can emit nothing. Emitting only starts the durable write (no await), so a cancelled request still
    records; ``durable`` waits for that write, and the final frame of every answer is sent only after it.
    """

    def __init__(self, command: ServeChat, sink: UsageSink, clock: Clock, requested_model: str = "") -> None:
        self._command = command
        self._sink = sink
        self._clock = clock
        self.requested_model = requested_model
        self.price_version = ""
        self.stream = False
        self.attempts: list[ProviderAttemptV1] = []
        self.recorded = False
        self._stored: Awaitable[None] | None = None

    def attempt_failed(self, attempt: Attempt, error_class: str, status: int | None, message: str) -> None:
        self.attempts.append(
            ProviderAttemptV1(
                provider=attempt.provider.id,
                upstream_model=attempt.deployment.upstream_model,
                error_class=error_class,
                status_code=status,
                message=message[:300],
                latency_ms=self._elapsed_ms(),
            )
        )

    def completed(self, attempt: Attempt, usage: Usage, cost_micros: int, *, ttft_ms: int | None, ok: bool) -> None:
        c = self._command
        self._emit(
            RequestCompletedV1(
                event_id=c.request_id,
                request_id=c.request_id,
                user_id=c.user_id,
                account_id=c.account_id,
                api_key_id=c.api_key_id,
                is_anonymous=c.is_anonymous,
                requested_model=self.requested_model,
                provider=attempt.provider.id,
                upstream_model=attempt.deployment.upstream_model,
                is_fallback=attempt.is_fallback,
                attempts=len(self.attempts) + 1,
                prompt_tokens=usage.prompt_tokens,
                completion_tokens=usage.completion_tokens,
                cache_read_tokens=usage.cache_read_tokens,
                cache_write_tokens=usage.cache_write_tokens,
                reasoning_tokens=usage.reasoning_tokens,
                usage_estimated=usage.estimated,
                cost_micros=cost_micros,
                latency_ms=self._elapsed_ms(),
                ttft_ms=ttft_ms,
                status="ok" if ok else "cancelled",
                api=api_family(c.api),
                endpoint=endpoint_of(c.api),
                stream=self.stream,
                cache_write_1h_tokens=usage.cache_write_1h_tokens,
                price_version=self.price_version,
                failed_attempts=tuple(self.attempts),
            )
        )

    def failed(self, error_class: str, status_code: int) -> None:
        c = self._command
        self._emit(
            RequestFailedV1(
                event_id=c.request_id,
                request_id=c.request_id,
                user_id=c.user_id,
                account_id=c.account_id,
                api_key_id=c.api_key_id,
                is_anonymous=c.is_anonymous,
                requested_model=self.requested_model,
                error_class=error_class,
                status_code=status_code,
                attempts=tuple(self.attempts),
                latency_ms=self._elapsed_ms(),
                api=api_family(c.api),
                endpoint=endpoint_of(c.api),
                stream=self.stream,
            )
        )

    def ensure_recorded(self) -> None:
        """The last word on every path: a request that recorded nothing failed internally."""
        if not self.recorded:
            self.failed("internal_error", 500)

    async def durable(self) -> None:
        """Return once the recorded event is stored (JetStream or the outbox): a crash after this loses nothing."""
        if self._stored is not None:
            # Shielded: a client leaving now must not cancel the write, only this wait.
            await asyncio.shield(self._stored)

    def _emit(self, event: RequestCompletedV1 | RequestFailedV1) -> None:
        if self.recorded:
            return
        self.recorded = True
        self._stored = self._sink.add(event)
        observe(event)

    def _elapsed_ms(self) -> int:
        return int((self._clock.monotonic() - self._command.started) * 1000)
