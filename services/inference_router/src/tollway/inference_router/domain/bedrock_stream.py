"""Bedrock ConverseStream events (already unframed from the binary event stream) → canonical deltas."""

from __future__ import annotations

import msgspec

from tollway.inference_router.domain.bedrock_response import finish_from_bedrock, usage_from_bedrock
from tollway.inference_router.domain.bedrock_wire import StreamPayload
from tollway.inference_router.domain.deltas import (
    Finish,
    MessageStart,
    StreamDelta,
    TextDelta,
    ToolCallArguments,
    ToolCallStart,
    UsageReport,
)
from tollway.inference_router.domain.errors import UpstreamProtocolError, UpstreamStreamError

_PAYLOAD = msgspec.json.Decoder(StreamPayload)
# In-stream exception event types → the HTTP status the same error has outside a stream.
EXCEPTION_STATUS = {
    "throttlingException": 429,
    "validationException": 400,
    "serviceUnavailableException": 503,
    "modelStreamErrorException": 424,
    "internalServerException": 500,
}


class BedrockEventDecoder:
    """One ConverseStream answer: ``event`` takes each message's type headers and JSON payload.

    ``messageStop`` says the answer is complete; ``metadata`` (the usage) follows it before the body ends.
    """

    def __init__(self, *, response_id: str, model: str) -> None:
        self._id, self._model = response_id, model
        self._tools: dict[int, int] = {}  # content block index → tool call index
        self.finished = False

    def event(self, message_type: str, event_type: str, payload: bytes) -> list[StreamDelta]:
        if message_type == "exception":
            raise UpstreamStreamError(
                _message(payload) or event_type, upstream_status=EXCEPTION_STATUS.get(event_type, 502)
            )
        if message_type != "event":
            raise UpstreamProtocolError(f"upstream sent an event-stream message of type '{message_type}'")
        try:
            wire = _PAYLOAD.decode(payload)
        except (msgspec.ValidationError, msgspec.DecodeError) as invalid:
            raise UpstreamProtocolError(f"upstream sent an invalid stream event: {invalid}") from None
        return self._translate(event_type, wire)

    def close(self) -> list[StreamDelta]:
        if not self.finished:
            raise UpstreamProtocolError("upstream stream ended before messageStop")
        return []

    def _translate(self, event_type: str, wire: StreamPayload) -> list[StreamDelta]:
        match event_type:
            case "messageStart":
                return [MessageStart(id=self._id, model=self._model)]
            case "contentBlockStart" if wire.start is not None and wire.start.tool_use is not None:
                use = wire.start.tool_use
                self._tools[wire.content_block_index] = len(self._tools)
                return [ToolCallStart(index=self._tools[wire.content_block_index], id=use.tool_use_id, name=use.name)]
            case "contentBlockDelta" if wire.delta is not None:
                return self._delta(wire)
            case "messageStop":
                self.finished = True
                return [Finish(reason=finish_from_bedrock(wire.stop_reason))]
            case "metadata" if wire.usage is not None:
                return [UsageReport(usage_from_bedrock(wire.usage))]
        return []

    def _delta(self, wire: StreamPayload) -> list[StreamDelta]:
        delta = wire.delta
        if delta is None:
            return []
        if delta.text:
            return [TextDelta(delta.text)]
        index = self._tools.get(wire.content_block_index)
        if delta.tool_use is not None and delta.tool_use.input and index is not None:
            return [ToolCallArguments(index=index, arguments=delta.tool_use.input)]
        return []


def _message(payload: bytes) -> str:
    try:
        return _PAYLOAD.decode(payload).message or ""
    except (msgspec.ValidationError, msgspec.DecodeError):
        return payload[:300].decode("utf-8", errors="replace")
