"""Token usage sniffed from the bytes the gateway relays, without decoding or re-encoding the response."""

from __future__ import annotations

import msgspec

CARRY_BYTES = 2048  # a usage object is a few hundred bytes; keeping this much finds one split across chunks
_USAGE_KEYS = (b'"usage"', b'"usageMetadata"')  # Gemini names its usage object ``usageMetadata``
_WHITESPACE = b" \t\r\n"
# The last frame of OpenAI's, Anthropic's and the Responses API's streams, the AI SDK data stream's finish line,
# Gemini's last chunk (the one with a finish reason) and ConverseStream's closing ``metadata`` event (its header).
_STREAM_ENDS = (
    b"data: [DONE]",
    b"message_stop",
    b"response.completed",
    b"response.incomplete",
    b'd:{"finishReason"',
    b'"finishReason"',
    b":event-type\x07\x00\x08metadata",
)


class Usage(msgspec.Struct, frozen=True):
    prompt_tokens: int  # every input token, cached or not
    output_tokens: int

    @property
    def total(self) -> int:
        return self.prompt_tokens + self.output_tokens


class _UsageFields(msgspec.Struct):
    """Both APIs' names; nested details (``prompt_tokens_details``...) are skipped."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    total_tokens: int | None = None  # with prompt_tokens alone: an embeddings answer (no output)
    promptTokens: int | None = None  # noqa: N815 - the AI SDK data stream's names
    completionTokens: int | None = None  # noqa: N815
    promptTokenCount: int | None = None  # noqa: N815 - Gemini's (thinking is output, apart from candidates)
    candidatesTokenCount: int | None = None  # noqa: N815
    thoughtsTokenCount: int | None = None  # noqa: N815
    inputTokens: int | None = None  # noqa: N815 - Bedrock's (cache reads and writes beside the input)
    outputTokens: int | None = None  # noqa: N815
    cacheReadInputTokens: int | None = None  # noqa: N815
    cacheWriteInputTokens: int | None = None  # noqa: N815


_decoder = msgspec.json.Decoder(_UsageFields)


class UsageTap:
    r"""Fed every relayed chunk; finds each ``"usage": {...}`` object and keeps the largest count of each field.

    Only a real JSON key matches: inside a string the quotes are escaped (``\\"usage\\"``). Keeping the maximum makes
    re-reading an object (it may sit in the carried-over tail) harmless, and fits Anthropic streams, whose
    ``output_tokens`` is cumulative.
    """

    def __init__(self, *, stream: bool) -> None:
        self._stream = stream
        self._carry = b""
        self._fields: dict[str, int] = {}

    def feed(self, chunk: bytes) -> None:
        window = self._carry + chunk if self._carry else chunk
        for key in _USAGE_KEYS:
            start = window.find(key)
            while start >= 0:
                found = _object_after(window, start + len(key))
                if found is not None:
                    self._merge(found)
                start = window.find(key, start + len(key))
        self._carry = window[-CARRY_BYTES:]

    def usage(self) -> Usage | None:
        """The response's usage, or ``None`` when it is not known for sure (no usage, or a stream cut short)."""
        if self._stream and not any(end in self._carry for end in _STREAM_ENDS):
            return None
        fields = self._fields
        if "prompt_tokens" in fields and "completion_tokens" in fields:
            return Usage(fields["prompt_tokens"], fields["completion_tokens"])
        if "prompt_tokens" in fields and "total_tokens" in fields:
            return Usage(fields["prompt_tokens"], 0)
        if "promptTokens" in fields and "completionTokens" in fields:
            return Usage(fields["promptTokens"], fields["completionTokens"])
        if "input_tokens" in fields and "output_tokens" in fields:
            cached = fields.get("cache_creation_input_tokens", 0) + fields.get("cache_read_input_tokens", 0)
            return Usage(fields["input_tokens"] + cached, fields["output_tokens"])
        return _native_usage(fields)

    def _merge(self, raw: bytes) -> None:
        try:
            parsed = _decoder.decode(raw)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return
        for name in parsed.__struct_fields__:
            value = getattr(parsed, name)
            if isinstance(value, int) and value > self._fields.get(name, -1):
                self._fields[name] = value


def _native_usage(fields: dict[str, int]) -> Usage | None:
    """Gemini's ``usageMetadata`` or Bedrock's ``usage`` (``inputTokens`` excludes cache reads and writes)."""
    if "promptTokenCount" in fields and "candidatesTokenCount" in fields:
        output = fields["candidatesTokenCount"] + fields.get("thoughtsTokenCount", 0)
        return Usage(fields["promptTokenCount"], output)
    if "inputTokens" in fields and "outputTokens" in fields:
        cached = fields.get("cacheReadInputTokens", 0) + fields.get("cacheWriteInputTokens", 0)
        return Usage(fields["inputTokens"] + cached, fields["outputTokens"])
    return None


def _object_after(window: bytes, at: int) -> bytes | None:
    """The complete ``{...}`` following ``"usage":`` at ``at``; ``None`` for ``null`` or an object cut off."""
    at = _skip(window, at)
    if at >= len(window) or window[at] != ord(":"):
        return None
    at = _skip(window, at + 1)
    if at >= len(window) or window[at] != ord("{"):
        return None
    depth = 0
    for index in range(at, len(window)):
        byte = window[index]
        if byte == ord("{"):
            depth += 1
        elif byte == ord("}"):
            depth -= 1
            if depth == 0:
                return window[at : index + 1]
    return None


def _skip(window: bytes, at: int) -> int:
    while at < len(window) and window[at] in _WHITESPACE:
        at += 1
    return at
