"""Anthropic streams: canonical deltas → the public Messages SSE event sequence, and upstream events → deltas."""

from __future__ import annotations

import msgspec

from tollway.inference_router.domain.anthropic_response import (
    finish_from_anthropic,
    stop_reason_to_anthropic,
    usage_from_anthropic,
    usage_to_anthropic,
)
from tollway.inference_router.domain.anthropic_wire import (
    ContentBlockDeltaEvent,
    ContentBlockStartEvent,
    ContentBlockStopEvent,
    EventDelta,
    EventError,
    InputJsonDeltaOut,
    MessageDeltaBody,
    MessageDeltaEvent,
    MessageOut,
    MessageReceived,
    MessageStartEvent,
    MessageStopEvent,
    StreamEventIn,
    TextBlock,
    TextDeltaOut,
    ToolUseBlock,
    UsageWire,
)
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
from tollway.inference_router.domain.error_bodies import anthropic_error_body, status_of_anthropic_error
from tollway.inference_router.domain.errors import UpstreamProtocolError, UpstreamStreamError
from tollway.inference_router.domain.sse import SseEvent, SseParser, named_frame

_ENCODER = msgspec.json.Encoder()
_EVENT = msgspec.json.Decoder(StreamEventIn)
Event = (
    MessageStartEvent
    | ContentBlockStartEvent
    | ContentBlockDeltaEvent
    | ContentBlockStopEvent
    | MessageDeltaEvent
    | MessageStopEvent
)


def _frame(event: Event) -> bytes:
    return named_frame(str(event.__struct_config__.tag), _ENCODER.encode(event))


class AnthropicStreamEncoder:
    """Turns canonical deltas into Anthropic's event sequence; call ``close`` once the upstream stream has finished.

    Text and each tool call get their own content block; a block is closed when the next one opens or the
    stream finishes. ``message_delta`` waits for ``close`` because OpenAI upstreams report usage last.

    ``message_start`` carries the prompt's tokens, as Anthropic's does: the upstream's count when it reports one up
    front (Anthropic), else ``input_tokens``, the router's estimate (OpenAI-shaped and other upstreams report
    usage only at the end; ``message_delta`` then carries the exact count).
    """

    def __init__(self, *, message_id: str, model: str, input_tokens: int = 0) -> None:
        self._id, self._model = message_id, model
        self._input_tokens = input_tokens
        self._started = False
        self._blocks = 0
        self._open: int | None = None
        self._open_is_text = False
        self._tool_blocks: dict[int, int] = {}
        self._finish = Finish(reason="stop")
        self._usage: Usage | None = None

    def feed(self, delta: StreamDelta) -> bytes:
        if isinstance(delta, UsageReport):
            self._usage = delta.usage
            return b""
        head = b"" if self._started else self._start(delta.usage if isinstance(delta, MessageStart) else None)
        return head + self._body(delta)

    def _body(self, delta: StreamDelta) -> bytes:
        match delta:
            case TextDelta() if delta.text:
                opening = b"" if self._open_is_text else self._open_block(TextBlock(text=""))
                return opening + _frame(ContentBlockDeltaEvent(self._blocks - 1, TextDeltaOut(delta.text)))
            case ToolCallStart():
                opening = self._open_block(ToolUseBlock(id=delta.id, name=delta.name, input={}))
                self._tool_blocks[delta.index] = self._blocks - 1
                return opening
            case ToolCallArguments() if delta.arguments and delta.index in self._tool_blocks:
                index = self._tool_blocks[delta.index]
                return _frame(ContentBlockDeltaEvent(index, InputJsonDeltaOut(delta.arguments)))
            case Finish():
                self._finish = delta
                return self._close_block()
        return b""

    def close(self, usage: Usage | None = None) -> bytes:
        """The closing events; ``usage`` overrides what the upstream reported (e.g. an estimate)."""
        head = b"" if self._started else self._start(None)
        final = usage or self._usage or Usage()
        reason = stop_reason_to_anthropic(self._finish.reason, self._finish.stop_sequence)
        body = MessageDeltaBody(stop_reason=reason, stop_sequence=self._finish.stop_sequence)
        ending = _frame(MessageDeltaEvent(body, usage_to_anthropic(final))) + _frame(MessageStopEvent())
        return head + self._close_block() + ending

    def error(self, status: int, message: str) -> bytes:
        """The ``error`` event Anthropic sends when a started stream fails."""
        return named_frame("error", anthropic_error_body(status, message))

    def _start(self, usage: Usage | None) -> bytes:
        self._started = True
        if usage is None or usage.prompt_tokens == 0:
            usage = Usage(prompt_tokens=self._input_tokens)
        message = MessageOut(id=self._id, model=self._model, usage=usage_to_anthropic(usage))
        return _frame(MessageStartEvent(message))

    def _open_block(self, block: TextBlock | ToolUseBlock) -> bytes:
        closing = self._close_block()
        self._open, self._open_is_text = self._blocks, isinstance(block, TextBlock)
        self._blocks += 1
        return closing + _frame(ContentBlockStartEvent(self._blocks - 1, block))

    def _close_block(self) -> bytes:
        if self._open is None:
            return b""
        index, self._open, self._open_is_text = self._open, None, False
        return _frame(ContentBlockStopEvent(index))


class AnthropicEventDecoder:
    """Turns an Anthropic upstream's SSE bytes (split anywhere) into canonical deltas."""

    def __init__(self) -> None:
        self._parser = SseParser()
        self._tools: dict[int, int] = {}  # content block index → tool call index
        self._start_usage = UsageWire()
        self.finished = False

    def feed(self, chunk: bytes) -> list[StreamDelta]:
        return [delta for event in self._parser.feed(chunk) for delta in self.feed_event(event)]

    def close(self) -> list[StreamDelta]:
        """End of the body: raises ``UpstreamProtocolError`` if the stream never reached ``message_delta``."""
        if not self.finished:
            raise UpstreamProtocolError("upstream stream ended before message_delta")
        return []

    def feed_event(self, event: SseEvent) -> list[StreamDelta]:
        try:
            wire = _EVENT.decode(event.data)
        except (msgspec.ValidationError, msgspec.DecodeError) as invalid:
            raise UpstreamProtocolError(f"upstream sent an invalid stream event: {invalid}") from None
        match wire.type:
            case "message_start":
                return self._message_start(wire)
            case "content_block_start":
                return self._block_start(wire)
            case "content_block_delta":
                return self._block_delta(wire)
            case "message_delta":
                return self._message_delta(wire)
            case "error":
                failure = wire.error or EventError()
                status = status_of_anthropic_error(failure.type)
                raise UpstreamStreamError(failure.message or failure.type, upstream_status=status)
        return []

    def _message_start(self, wire: StreamEventIn) -> list[StreamDelta]:
        message = wire.message or MessageReceived()
        self._start_usage = message.usage or UsageWire()
        return [MessageStart(id=message.id, model=message.model, usage=usage_from_anthropic(self._start_usage))]

    def _block_start(self, wire: StreamEventIn) -> list[StreamDelta]:
        block = wire.content_block
        if block is None or block.type not in {"text", "tool_use"}:
            return []  # thinking and server-tool blocks have no canonical form
        if block.type == "text":
            return [TextDelta(block.text)] if block.text else []
        self._tools[wire.index] = len(self._tools)
        return [ToolCallStart(index=self._tools[wire.index], id=block.id or "", name=block.name or "")]

    def _block_delta(self, wire: StreamEventIn) -> list[StreamDelta]:
        delta = wire.delta
        if delta is None:
            return []
        if delta.type == "text_delta" and delta.text:
            return [TextDelta(delta.text)]
        if delta.type == "input_json_delta" and delta.partial_json and wire.index in self._tools:
            return [ToolCallArguments(index=self._tools[wire.index], arguments=delta.partial_json)]
        return []

    def _message_delta(self, wire: StreamEventIn) -> list[StreamDelta]:
        """Usage here is cumulative; input-side counts appear only in newer API versions, else keep message_start's."""
        self.finished = True
        delta = wire.delta or EventDelta()
        final = wire.usage or UsageWire()
        start = self._start_usage
        merged = UsageWire(
            input_tokens=final.input_tokens if final.input_tokens is not None else start.input_tokens,
            output_tokens=final.output_tokens,
            cache_creation_input_tokens=_first(final.cache_creation_input_tokens, start.cache_creation_input_tokens),
            cache_read_input_tokens=_first(final.cache_read_input_tokens, start.cache_read_input_tokens),
            cache_creation=start.cache_creation if final.cache_creation is msgspec.UNSET else final.cache_creation,
        )
        finish = Finish(reason=finish_from_anthropic(delta.stop_reason), stop_sequence=delta.stop_sequence)
        return [finish, UsageReport(usage_from_anthropic(merged))]


def _first(value: int | None, fallback: int | None) -> int | None:
    return value if value is not None else fallback
