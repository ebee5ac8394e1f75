"""Relaying one committed upstream stream to the client in its public format, and recording what it delivered."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from tollway.inference_router.domain.canonical import ChatRequest, Usage
from tollway.inference_router.domain.catalog import Model
from tollway.inference_router.domain.deltas import StreamAccumulator, StreamDelta
from tollway.inference_router.domain.errors import UpstreamProtocolError, UpstreamStreamError
from tollway.inference_router.domain.pricing import cost_micros
from tollway.inference_router.domain.public_format import StreamEncoder
from tollway.inference_router.domain.routing import Attempt
from tollway.inference_router.domain.usage import estimate_usage
from tollway.inference_router.ports import StreamDecoder, UpstreamReply, UpstreamTimeoutError
from tollway.inference_router.recording import UsageRecorder


class StreamRelay:
    """Decodes upstream bytes into deltas, encodes them for the client, and keeps count of what was delivered."""

    def __init__(
        self, request: ChatRequest, model: Model, attempt: Attempt, decoder: StreamDecoder, encoder: StreamEncoder
    ) -> None:
        self._request = request
        self._model = model
        self._attempt = attempt
        self._decoder = decoder
        self._encoder = encoder
        self._seen = StreamAccumulator()

    def translate(self, chunk: bytes) -> bytes:
        return self._encode(self._decoder.feed(chunk))

    def finish(self) -> bytes:
        """The tail: whatever the decoder still held, then the closing frames with the final usage."""
        return self._encode(self._decoder.close()) + self._encoder.close(self.usage())

    def fail(self, error: Exception) -> bytes:
        status = error.upstream_status if isinstance(error, UpstreamStreamError) else 502
        return self._encoder.error(status, str(error) or "the upstream stream failed")

    def usage(self) -> Usage:
        """The upstream's usage when it reported one, else an estimate of what was delivered."""
        if self._seen.usage is not None:
            return self._seen.usage
        return estimate_usage(
            self._request, delivered_chars=self._seen.delivered_chars, prompt_usage=self._seen.prompt_usage
        )

    def record(self, recorder: UsageRecorder, *, ttft_ms: int, ok: bool) -> None:
        usage = self.usage()
        recorder.completed(self._attempt, usage, cost_micros(usage, self._model.prices), ttft_ms=ttft_ms, ok=ok)

    def _encode(self, deltas: list[StreamDelta]) -> bytes:
        out = []
        for delta in deltas:
            self._seen.observe(delta)
            out.append(self._encoder.feed(delta))
        return b"".join(out)


async def relay_stream(
    reply: UpstreamReply, first: bytes, relay: StreamRelay, recorder: UsageRecorder, ttft_ms: int
) -> AsyncGenerator[bytes, None]:
    """Yield the client's bytes; whatever ends the stream (done, upstream error, client gone), record once.

    The closing frames (final usage, ``[DONE]`` / ``message_stop``, or the error frame) wait until the event is
    durable: a client that saw its stream end is always billed, even if the router dies the next instant.
    """
    finished = False
    try:
        if head := relay.translate(first):
            yield head
        async for chunk in reply.chunks():
            if out := relay.translate(chunk):
                yield out
        tail = relay.finish()
        finished = True
        relay.record(recorder, ttft_ms=ttft_ms, ok=True)
        await recorder.durable()
        yield tail
    except (UpstreamStreamError, UpstreamProtocolError, UpstreamTimeoutError) as error:
        relay.record(recorder, ttft_ms=ttft_ms, ok=False)
        await recorder.durable()
        yield relay.fail(error)
    finally:
        reply.close()
        relay.record(recorder, ttft_ms=ttft_ms, ok=finished)


def abandon_stream(reply: UpstreamReply, relay: StreamRelay, recorder: UsageRecorder, ttft_ms: int) -> None:
    """Run after every stream: closes the upstream and records it as cancelled unless it was recorded already.

    Needed because an async generator that never started skips its ``finally`` on ``aclose`` (a client gone
    before the first byte), and a stream must still end in exactly one event.
    """
    reply.close()
    relay.record(recorder, ttft_ms=ttft_ms, ok=False)
