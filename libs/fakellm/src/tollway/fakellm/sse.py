"""Server-sent-event framing as byte concatenation, so the hot loop never formats strings."""

DONE = b"data: [DONE]\n\n"


def data_event(payload: bytes) -> bytes:
    """An unnamed event (OpenAI style): ``data: {json}``."""
    return b"data: " + payload + b"\n\n"


def event_prefix(name: str) -> bytes:
    """The fixed head of a named event (Anthropic style); append the JSON and a blank line."""
    return b"event: " + name.encode() + b"\ndata: "


def named_event(name: str, payload: bytes) -> bytes:
    return event_prefix(name) + payload + b"\n\n"
