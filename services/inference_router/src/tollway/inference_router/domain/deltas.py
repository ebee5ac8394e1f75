"""Canonical stream deltas (what every upstream stream decodes into) and an accumulator that summarises a stream."""

from __future__ import annotations

import msgspec

from tollway.inference_router.domain.canonical import ChatResponse, FinishReason, ToolCall, Usage


class MessageStart(msgspec.Struct, frozen=True, kw_only=True):
    """The stream began; ``usage`` carries the input-side counts when the upstream reports them up front."""

    id: str
    model: str
    usage: Usage | None = None


class TextDelta(msgspec.Struct, frozen=True):
    text: str


class ToolCallStart(msgspec.Struct, frozen=True, kw_only=True):
    """A new tool call; ``index`` counts tool calls only (0, 1, …), as OpenAI's ``tool_calls[].index`` does."""

    index: int
    id: str
    name: str


class ToolCallArguments(msgspec.Struct, frozen=True, kw_only=True):
    """A piece of the JSON arguments text of tool call ``index``."""

    index: int
    arguments: str


class Finish(msgspec.Struct, frozen=True, kw_only=True):
    reason: FinishReason
    stop_sequence: str | None = None


class UsageReport(msgspec.Struct, frozen=True):
    """The upstream's final, complete usage."""

    usage: Usage


StreamDelta = MessageStart | TextDelta | ToolCallStart | ToolCallArguments | Finish | UsageReport


class StreamAccumulator:
    """Watches the deltas going to the client: what was delivered, and the response they add up to."""

    def __init__(self) -> None:
        self.id = ""
        self.model = ""
        self.prompt_usage: Usage | None = None
        self.usage: Usage | None = None
        self.finish: Finish | None = None
        self.delivered_chars = 0
        self._text: list[str] = []
        self._calls: dict[int, tuple[str, str, list[str]]] = {}

    def observe(self, delta: StreamDelta) -> None:
        match delta:
            case MessageStart():
                self.id, self.model, self.prompt_usage = delta.id, delta.model, delta.usage
            case TextDelta():
                self._text.append(delta.text)
                self.delivered_chars += len(delta.text)
            case ToolCallStart():
                self._calls[delta.index] = (delta.id, delta.name, [])
                self.delivered_chars += len(delta.name)
            case ToolCallArguments():
                self._arguments(delta.index).append(delta.arguments)
                self.delivered_chars += len(delta.arguments)
            case Finish():
                self.finish = delta
            case UsageReport():
                self.usage = delta.usage

    def _arguments(self, index: int) -> list[str]:
        if index not in self._calls:
            self._calls[index] = ("", "", [])
        return self._calls[index][2]

    def response(self) -> ChatResponse:
        """The stream so far as one response (finish ``stop`` if the stream never said)."""
        calls = tuple(
            ToolCall(id=call_id, name=name, arguments="".join(pieces))
            for _, (call_id, name, pieces) in sorted(self._calls.items())
        )
        finish = self.finish or Finish(reason="stop")
        return ChatResponse(
            id=self.id,
            model=self.model,
            content="".join(self._text) if self._text or not calls else None,
            tool_calls=calls,
            finish_reason=finish.reason,
            stop_sequence=finish.stop_sequence,
            usage=self.usage,
        )
