"""Usage when the upstream reported none (a cancelled or cut stream): estimated from characters, and flagged so."""

from __future__ import annotations

import msgspec

from tollway.inference_router.domain.canonical import ChatRequest, Content, Message, TextPart, Usage

CHARS_PER_TOKEN = 4  # the usual rule of thumb for English text with BPE tokenizers

_ENCODER = msgspec.json.Encoder()


def tokens_for_chars(chars: int) -> int:
    """``ceil(chars / 4)``: any text is at least one token, no text is none."""
    return -(-max(chars, 0) // CHARS_PER_TOKEN)


def request_chars(request: ChatRequest) -> int:
    """Characters the upstream reads: message text, tool calls and results, tool definitions; not images."""
    tools = sum(len(tool.name) + len(tool.description or "") + _schema_chars(tool.parameters) for tool in request.tools)
    return tools + sum(_message_chars(message) for message in request.messages)


def _schema_chars(parameters: dict[str, object] | None) -> int:
    return len(_ENCODER.encode(parameters)) if parameters else 0


def _message_chars(message: Message) -> int:
    calls = sum(len(call.name) + len(call.arguments) for call in message.tool_calls)
    return _content_chars(message.content) + calls


def _content_chars(content: Content | None) -> int:
    if content is None:
        return 0
    if isinstance(content, str):
        return len(content)
    return sum(len(part.text) for part in content if isinstance(part, TextPart))


def estimate_prompt_tokens(request: ChatRequest) -> int:
    """At least 1: every request has a prompt."""
    return max(1, tokens_for_chars(request_chars(request)))


def estimate_usage(request: ChatRequest, *, delivered_chars: int, prompt_usage: Usage | None = None) -> Usage:
    """Usage for a stream that ended without a usage report.

    ``delivered_chars`` is what reached the client (text and tool-call pieces); ``prompt_usage`` is the input
    side if the upstream reported it up front (Anthropic's ``message_start``), which beats an estimate.
    """
    known = prompt_usage if prompt_usage is not None and prompt_usage.prompt_tokens > 0 else None
    return Usage(
        prompt_tokens=known.prompt_tokens if known else estimate_prompt_tokens(request),
        completion_tokens=tokens_for_chars(delivered_chars),
        cache_read_tokens=known.cache_read_tokens if known else 0,
        cache_write_tokens=known.cache_write_tokens if known else 0,
        estimated=True,
    )
