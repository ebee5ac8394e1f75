"""Gemini answers → canonical responses, and ``streamGenerateContent?alt=sse`` chunks → canonical deltas."""

from __future__ import annotations

import msgspec

from tollway.inference_router.domain.canonical import ChatResponse, FinishReason, ToolCall
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
from tollway.inference_router.domain.gemini_usage import usage_from_gemini
from tollway.inference_router.domain.gemini_wire import Candidate, GenerateContentOut, Part
from tollway.inference_router.domain.sse import SseParser

_DECODER = msgspec.json.Decoder(GenerateContentOut)
_ENCODER = msgspec.json.Encoder()
_FILTERED = frozenset({"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY"})


def finish_from_gemini(reason: str | None, *, called_tools: bool) -> FinishReason:
    """Gemini says ``STOP`` after function calls too: the calls decide."""
    if called_tools:
        return "tool_calls"
    if reason == "MAX_TOKENS":
        return "length"
    return "content_filter" if reason in _FILTERED else "stop"


def _answer_parts(candidate: Candidate | None) -> list[Part]:
    """The visible parts: thought summaries (``thought: true``) are reasoning, not the answer."""
    if candidate is None or candidate.content is None:
        return []
    return [part for part in candidate.content.parts if not part.thought]


def _call_id(part: Part, index: int, response_id: str) -> str:
    call = part.function_call
    return call.id if call is not None and call.id else f"call_{response_id or 'gemini'}_{index}"


def _decode(body: bytes | str) -> GenerateContentOut:
    try:
        return _DECODER.decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError) as error:
        raise UpstreamProtocolError(f"upstream sent an invalid Gemini response: {error}") from None


def parse_gemini_response(body: bytes) -> ChatResponse:
    wire = _decode(body)
    candidate = wire.candidates[0] if wire.candidates else None
    parts = _answer_parts(candidate)
    texts = [part.text for part in parts if part.text is not None]
    calls = tuple(
        ToolCall(id=_call_id(p, i, wire.response_id), name=p.function_call.name, arguments=_args(p))
        for i, p in enumerate(part for part in parts if part.function_call is not None)
        if p.function_call is not None
    )
    return ChatResponse(
        id=wire.response_id,
        model=wire.model_version,
        content="".join(texts) if texts or not calls else None,
        tool_calls=calls,
        finish_reason=finish_from_gemini(candidate.finish_reason if candidate else None, called_tools=bool(calls)),
        usage=usage_from_gemini(wire.usage_metadata) if wire.usage_metadata is not None else None,
    )


def _args(part: Part) -> str:
    return _ENCODER.encode(part.function_call.args if part.function_call else {}).decode()


class GeminiChunkDecoder:
    """SSE ``data:`` events, each a whole ``GenerateContentResponse``; a ``finishReason`` ends the answer.

    Every chunk carries cumulative ``usageMetadata``: the last one seen is the usage.
    """

    def __init__(self) -> None:
        self._parser = SseParser()
        self._started = False
        self._calls = 0
        self.finished = False

    def feed(self, chunk: bytes) -> list[StreamDelta]:
        return [delta for event in self._parser.feed(chunk) for delta in self._event(event.data)]

    def close(self) -> list[StreamDelta]:
        if not self.finished:
            raise UpstreamProtocolError("upstream stream ended before a finishReason")
        return []

    def _event(self, data: str) -> list[StreamDelta]:
        wire = _decode(data)
        if wire.error is not None:
            raise UpstreamStreamError(wire.error.message or "upstream stream failed", upstream_status=wire.error.code)
        deltas: list[StreamDelta] = []
        if not self._started:
            self._started = True
            deltas.append(MessageStart(id=wire.response_id, model=wire.model_version))
        candidate = wire.candidates[0] if wire.candidates else None
        for part in _answer_parts(candidate):
            deltas += self._part(part, wire.response_id)
        if candidate is not None and candidate.finish_reason is not None:
            self.finished = True
            deltas.append(Finish(reason=finish_from_gemini(candidate.finish_reason, called_tools=self._calls > 0)))
        if wire.usage_metadata is not None:
            deltas.append(UsageReport(usage_from_gemini(wire.usage_metadata)))
        return deltas

    def _part(self, part: Part, response_id: str) -> list[StreamDelta]:
        if part.function_call is not None:
            index = self._calls
            self._calls += 1
            call_id = _call_id(part, index, response_id)
            start = ToolCallStart(index=index, id=call_id, name=part.function_call.name)
            return [start, ToolCallArguments(index=index, arguments=_args(part))]
        return [TextDelta(part.text)] if part.text else []
