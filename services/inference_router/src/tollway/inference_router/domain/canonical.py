"""The canonical (internal, OpenAI-shaped) chat request, response and usage that every format translates through."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

Role = Literal["system", "developer", "user", "assistant", "tool"]
FinishReason = Literal["stop", "length", "tool_calls", "content_filter"]
ToolChoiceMode = Literal["auto", "none", "required", "tool"]


class TextPart(msgspec.Struct, frozen=True, tag="text", tag_field="type"):
    text: str


class ImagePart(msgspec.Struct, frozen=True, kw_only=True, tag="image_url", tag_field="type"):
    """An image by URL: ``https://…`` or a base64 ``data:<media type>;base64,<data>`` URL (checked at decode)."""

    url: str
    detail: str | None = None


ContentPart = TextPart | ImagePart
Content = str | tuple[ContentPart, ...]


class ToolCall(msgspec.Struct, frozen=True, kw_only=True):
    """A call the assistant made; ``arguments`` is a JSON object text (``""`` means no arguments)."""

    id: str
    name: str
    arguments: str


class Message(msgspec.Struct, frozen=True, kw_only=True):
    """One conversation turn.

    ``tool_calls`` only on assistant turns; ``tool_call_id`` and ``is_error`` only on tool turns (a tool result).
    """

    role: Role
    content: Content | None = None
    name: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    is_error: bool = False


class Tool(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None  # JSON Schema of the arguments object


class ToolChoice(msgspec.Struct, frozen=True, kw_only=True):
    """``auto`` / ``none`` / ``required`` (any tool), or ``tool`` with ``name``."""

    mode: ToolChoiceMode
    name: str | None = None


class ChatRequest(msgspec.Struct, frozen=True, kw_only=True):
    """A chat request as the router sees it, whatever public format it arrived in.

    ``top_k`` only reaches Anthropic upstreams; ``response_format``, ``seed`` and the penalties only reach
    OpenAI-compatible ones. ``metadata`` is the caller's and is never sent upstream.
    """

    model: str
    messages: tuple[Message, ...]
    tools: tuple[Tool, ...] = ()
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    stop: tuple[str, ...] = ()
    stream: bool = False
    include_usage: bool = False
    user: str | None = None
    metadata: dict[str, str] | None = None
    response_format: dict[str, Any] | None = None
    seed: int | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None


class Usage(msgspec.Struct, frozen=True, kw_only=True):
    """Token counts of one request, with one unambiguous convention.

    ``prompt_tokens`` counts EVERY input token, cache reads and cache writes included (OpenAI's convention,
    extended to writes); Anthropic's ``input_tokens`` is therefore ``prompt - cache_read - cache_write``.
    ``completion_tokens`` counts every output token, reasoning included (both providers bill it so).
    ``cache_read_tokens``, ``cache_write_tokens`` and ``reasoning_tokens`` are subsets, never added on top;
    ``cache_write_1h_tokens`` is the part of the cache writes made with Anthropic's 1-hour TTL.
    ``estimated`` is true when the counts were estimated (e.g. a cancelled stream) rather than reported.
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    estimated: bool = False
    cache_write_1h_tokens: int = 0

    @property
    def uncached_prompt_tokens(self) -> int:
        """Input tokens billed at the plain input price (never negative, even if an upstream over-reports)."""
        return max(0, self.prompt_tokens - self.cache_read_tokens - self.cache_write_tokens)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def usage_from_parts(
    *, uncached: int, cache_read: int, cache_write: int, completion: int, reasoning: int = 0, cache_write_1h: int = 0
) -> Usage:
    """Build canonical usage from counts reported beside each other (Anthropic style)."""
    return Usage(
        prompt_tokens=uncached + cache_read + cache_write,
        completion_tokens=completion,
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        reasoning_tokens=reasoning,
        cache_write_1h_tokens=min(cache_write_1h, cache_write),
    )


class ChatResponse(msgspec.Struct, frozen=True, kw_only=True):
    """A complete (non-stream) answer: the first choice's text and tool calls.

    ``stop_sequence`` is the stop string that ended generation when the upstream says which one (Anthropic).
    ``usage`` is ``None`` when the upstream reported none; the caller then estimates it.
    """

    id: str
    model: str
    content: str | None
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: FinishReason = "stop"
    stop_sequence: str | None = None
    usage: Usage | None = None
