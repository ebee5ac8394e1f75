"""Ports of inference_router: the Protocols use cases depend on, implemented by adapters wired in bootstrap."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Mapping, Sequence
from typing import Protocol, runtime_checkable

from tollway.contracts import Event
from tollway.inference_router.domain.breaker import BreakerState
from tollway.inference_router.domain.canonical import ChatRequest, ChatResponse
from tollway.inference_router.domain.deltas import StreamDelta
from tollway.inference_router.domain.routing import BreakerSignal
from tollway.inference_router.domain.strategies import DeploymentLoad
from tollway.inference_router.domain.upstream import UpstreamRequest


class StreamDecoder(Protocol):
    """Turns one upstream response body, fed as it arrives in chunks split anywhere, into canonical deltas.

    SSE (OpenAI, Anthropic) and binary event streams (Bedrock, via botocore's ``EventStreamBuffer``) both fit:
    the decoder owns the framing. ``feed`` and ``close`` raise ``UpstreamStreamError`` for an error the
    upstream reports in the stream and ``UpstreamProtocolError`` for bytes it cannot decode; ``close`` also
    raises the latter when the body ended before the stream said it finished.
    """

    @property
    def finished(self) -> bool:
        """True once the upstream said the answer is complete (its finish/stop event arrived)."""
        ...

    def feed(self, chunk: bytes) -> list[StreamDelta]: ...

    def close(self) -> list[StreamDelta]: ...


class ProviderAdapter(Protocol):
    """What the router needs from one provider kind (``openai_compatible`` | ``anthropic`` | ``bedrock``).

    Instances are bound to one catalogue provider and its credential. ``build_request`` returns the complete
    HTTP request as data, so request signing (Bedrock SigV4) happens inside it and the transport stays
    generic; it does not raise for a request that passed public validation. ``parse_response`` turns a
    2xx non-stream body into a canonical response (``UpstreamProtocolError`` if it cannot);
    ``error_message`` extracts the human message from a non-2xx body.
    """

    def build_request(
        self, request: ChatRequest, *, upstream_model: str, default_max_tokens: int
    ) -> UpstreamRequest: ...

    def parse_response(self, body: bytes) -> ChatResponse: ...

    def stream_decoder(self) -> StreamDecoder: ...

    def error_message(self, body: bytes) -> str: ...


@runtime_checkable
class EmbeddingProvider(Protocol):
    """A provider adapter that also serves embeddings (OpenAI-compatible and Azure ones do)."""

    def build_embeddings_request(self, body: bytes, *, upstream_model: str) -> UpstreamRequest: ...

    def error_message(self, body: bytes) -> str: ...


class UpstreamTimeoutError(Exception):
    """No answer (or no first token) within the allowed time."""


class UpstreamConnectError(Exception):
    """The upstream could not be reached at all."""


class UpstreamReply(Protocol):
    """An upstream answer whose status and headers have arrived; the body is read on demand."""

    status: int
    headers: Mapping[str, str]

    async def read(self) -> bytes:
        """The whole body (bounded by the total timeout)."""
        ...

    async def first_chunk(self) -> bytes:
        """The first body bytes, within the first-token timeout (``b""`` if the body is empty)."""
        ...

    def chunks(self) -> AsyncIterator[bytes]:
        """The rest of the body as it arrives, within the total timeout."""
        ...

    def close(self) -> None:
        """Release the connection; for an unfinished stream this cancels the upstream call."""
        ...


class UpstreamTransport(Protocol):
    async def send(self, request: UpstreamRequest) -> UpstreamReply:
        """Send and wait for the status line and headers; raises the two errors above."""
        ...


class BreakerBook(Protocol):
    """Circuit breaker state per deployment key, shared by every router replica."""

    async def unavailable(self, keys: Sequence[str]) -> set[str]:
        """Keys that must not be tried now (open, or half-open with every probe slot taken); one round trip."""
        ...

    async def record(self, key: str, signal: BreakerSignal, retry_after: float | None = None) -> None: ...

    async def cooling(self, keys: Sequence[str]) -> dict[str, float]:
        """Seconds left of each key's Retry-After cooldown; keys without one, or with an open breaker, are left out."""
        ...

    async def states(self) -> dict[str, BreakerState]: ...

    async def state(self, key: str) -> BreakerState: ...

    async def reset(self, key: str | None = None) -> int:
        """Close one breaker (or every one with ``None``); returns how many were reset."""
        ...


class DeploymentLoadBook(Protocol):
    """Measured latency and in-flight calls per deployment, shared by every replica (for the load strategies)."""

    async def snapshot(self, keys: Sequence[str]) -> dict[str, DeploymentLoad]: ...

    async def started(self, key: str, call_id: str) -> None: ...

    async def finished(self, key: str, call_id: str, latency_ms: float | None) -> None:
        """``latency_ms``: the whole call, or the first token of a stream; ``None`` for a failed call."""
        ...


class UsageSink(Protocol):
    @property
    def full(self) -> bool:
        """Too many events not yet durable: new requests must be refused, not served unrecorded."""
        ...

    def add(self, event: Event) -> Awaitable[None]:
        """Start making the event durable without blocking (a cancelled request still records it).

        The result resolves once the event is stored; the final frame of the response waits for it.
        """
        ...


class Clock(Protocol):
    def now(self) -> float:
        """Unix seconds."""
        ...

    def monotonic(self) -> float: ...
