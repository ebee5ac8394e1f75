"""Deterministic token accounting and completion text: the same request always yields the same numbers."""

from functools import cache, lru_cache

CHARS_PER_TOKEN = 4

# JSON-schema type -> placeholder argument value for a required property.
_PLACEHOLDERS: dict[str, object] = {
    "string": "fake",
    "integer": 1,
    "number": 1,
    "boolean": True,
    "array": [],
    "null": None,
}


def text_chars(value: object) -> int:
    """Characters of text in a message content: a string, content parts, or nested tool results."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, list):
        return sum(text_chars(item) for item in value)
    if isinstance(value, dict):
        return text_chars(value.get("text")) + text_chars(value.get("content"))
    return 0


def prompt_tokens(chars: int) -> int:
    """ceil(chars / 4), at least 1, as a stand-in for a tokenizer."""
    return max(1, -(-chars // CHARS_PER_TOKEN))


@cache
def token_piece(index: int) -> str:
    """The text of completion token ``index``; joined pieces read "tok0 tok1 tok2"."""
    return f"tok{index}" if index == 0 else f" tok{index}"


@lru_cache(maxsize=256)
def completion_text(count: int) -> str:
    return "".join(token_piece(index) for index in range(count))


def placeholder_arguments(schema: object) -> dict[str, object]:
    """Tool arguments that satisfy the schema's required properties with placeholder values."""
    if not isinstance(schema, dict):
        return {}
    properties = schema.get("properties")
    required = schema.get("required")
    if not isinstance(properties, dict) or not isinstance(required, list):
        return {}
    return {name: _placeholder(properties.get(name)) for name in required if isinstance(name, str)}


def _placeholder(prop: object) -> object:
    if not isinstance(prop, dict):
        return "fake"
    enum = prop.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    kind = prop.get("type")
    if isinstance(kind, list):  # e.g. ["string", "null"]: the first concrete type
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        return placeholder_arguments(prop)
    return _PLACEHOLDERS.get(kind, "fake") if isinstance(kind, str) else "fake"
