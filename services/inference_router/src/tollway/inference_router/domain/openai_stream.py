"""OpenAI streams: canonical deltas → public ``chat.completion.chunk`` frames, and upstream chunks → deltas."""

from __future__ import annotations

import msgspec

from tollway.inference_router.domain.canonical import Usage
from tollway.inference_router.domain.deltas import (
    Finish,
    MessageStart,
    StreamDelta,
    TextDelta,
    ToolCallArguments,
    ToolCallStart,
    UsageReport,
)
from tollway.inference_router.domain.error_bodies import openai_error_body, status_of_openai_error
from tollway.inference_router.domain.errors import UpstreamProtocolError, UpstreamStreamError
from tollway.inference_router.domain.openai_response import finish_from_openai, usage_from_openai, usage_to_openai
from tollway.inference_router.domain.openai_wire import (
    ChatCompletionChunk,
    ChunkChoice,
    ChunkDelta,
    FunctionDelta,
    ToolCallDelta,
    UsageWire,
)
from tollway.inference_router.domain.sse import DONE_FRAME, SseEvent, SseParser, data_frame

_ENCODER = msgspec.json.Encoder()
_CHUNK = msgspec.json.Decoder(ChatCompletionChunk)


class OpenAIChunkEncoder:
    """Turns canonical deltas into the public SSE stream; call ``close`` once the upstream stream has finished.

    With ``include_usage`` every chunk carries ``"usage": null`` and ``close`` adds the usage chunk
    (``choices: []``) before ``data: [DONE]``, as OpenAI does.
    """

    def __init__(self, *, response_id: str, model: str, created: int, include_usage: bool) -> None:
        self._id, self._model, self._created = response_id, model, created
        self._include_usage = include_usage
        self._started = False
        self._usage: Usage | None = None

    def feed(self, delta: StreamDelta) -> bytes:
        if isinstance(delta, UsageReport):
            self._usage = delta.usage
            return b""
        opening = b"" if self._started else self._chunk(ChunkDelta(role="assistant", content=""))
        self._started = True
        return opening + self._body(delta)

    def _body(self, delta: StreamDelta) -> bytes:
        match delta:
            case TextDelta() if delta.text:
                return self._chunk(ChunkDelta(content=delta.text))
            case ToolCallStart():
                call = ToolCallDelta(
                    index=delta.index,
                    id=delta.id,
                    type="function",
                    function=FunctionDelta(name=delta.name, arguments=""),
                )
                return self._chunk(ChunkDelta(tool_calls=[call]))
            case ToolCallArguments():
                call = ToolCallDelta(index=delta.index, function=FunctionDelta(arguments=delta.arguments))
                return self._chunk(ChunkDelta(tool_calls=[call]))
            case Finish():
                return self._chunk(ChunkDelta(), finish_reason=delta.reason)
        return b""

    def close(self, usage: Usage | None = None) -> bytes:
        """The closing frames; ``usage`` overrides what the upstream reported (e.g. an estimate)."""
        final = usage or self._usage or Usage()
        tail = b""
        if self._include_usage:
            tail = self._frame([], usage_to_openai(final))
        return tail + DONE_FRAME

    def error(self, status: int, message: str) -> bytes:
        """A frame reporting a failure after the stream started (OpenAI SDKs raise on an ``error`` payload)."""
        return data_frame(openai_error_body(status, message))

    def _chunk(self, delta: ChunkDelta, finish_reason: str | None = None) -> bytes:
        choice = ChunkChoice(delta=delta, finish_reason=finish_reason)
        return self._frame([choice], None if self._include_usage else msgspec.UNSET)

    def _frame(self, choices: list[ChunkChoice], usage: UsageWire | msgspec.UnsetType | None) -> bytes:
        chunk = ChatCompletionChunk(id=self._id, created=self._created, model=self._model, choices=choices, usage=usage)
        return data_frame(_ENCODER.encode(chunk))


class OpenAIChunkDecoder:
    """Turns an upstream's SSE bytes (split anywhere) into canonical deltas."""

    def __init__(self) -> None:
        self._parser = SseParser()
        self._started = False
        self._tool_indexes: set[int] = set()
        self.finished = False

    def feed(self, chunk: bytes) -> list[StreamDelta]:
        return [delta for event in self._parser.feed(chunk) for delta in self.feed_event(event)]

    def close(self) -> list[StreamDelta]:
        """End of the body: raises ``UpstreamProtocolError`` if the stream never said it finished."""
        if not self.finished:
            raise UpstreamProtocolError("upstream stream ended before a finish_reason")
        return []

    def feed_event(self, event: SseEvent) -> list[StreamDelta]:
        if event.data == "[DONE]":
            self.finished = True
            return []
        try:
            chunk = _CHUNK.decode(event.data)
        except (msgspec.ValidationError, msgspec.DecodeError) as error:
            raise UpstreamProtocolError(f"upstream sent an invalid stream chunk: {error}") from None
        if not isinstance(chunk.error, msgspec.UnsetType):
            status = status_of_openai_error(chunk.error.code, chunk.error.type)
            raise UpstreamStreamError(chunk.error.message or "upstream stream failed", upstream_status=status)
        deltas: list[StreamDelta] = []
        if not self._started:
            self._started = True
            deltas.append(MessageStart(id=chunk.id, model=chunk.model))
        for choice in chunk.choices[:1]:
            deltas += self._choice(choice)
        if isinstance(chunk.usage, UsageWire):
            deltas.append(UsageReport(usage_from_openai(chunk.usage)))
        return deltas

    def _choice(self, choice: ChunkChoice) -> list[StreamDelta]:
        delta = choice.delta
        deltas: list[StreamDelta] = [TextDelta(text) for text in (delta.content, delta.refusal) if text]
        for position, call in enumerate(delta.tool_calls or ()):
            deltas += self._tool_call(call, position)
        if choice.finish_reason is not None:
            self.finished = True
            deltas.append(Finish(reason=finish_from_openai(choice.finish_reason)))
        return deltas

    def _tool_call(self, call: ToolCallDelta, position: int) -> list[StreamDelta]:
        # Some OpenAI-compatible servers leave out ``index`` when they send one call per chunk.
        index = call.index if call.index is not None else position
        function = call.function or FunctionDelta()
        deltas: list[StreamDelta] = []
        if index not in self._tool_indexes:
            self._tool_indexes.add(index)
            deltas.append(ToolCallStart(index=index, id=call.id or f"call_{index}", name=function.name or ""))
        if function.arguments:
            deltas.append(ToolCallArguments(index=index, arguments=function.arguments))
        return deltas
