"""``POST /v1/embeddings``: the public body checked and re-addressed per deployment, and the upstream's usage read.

The body is forwarded as the client sent it, with only ``model`` replaced: embeddings have no format to translate.
"""

from __future__ import annotations

from typing import Any

import msgspec

from tollway.inference_router.domain.canonical import ChatRequest, Message, Usage
from tollway.inference_router.domain.errors import (
    UNDECODABLE,
    UpstreamProtocolError,
    from_validation_error,
    invalid_field,
)

_DICT = msgspec.json.Decoder(dict[str, Any])
_ENCODER = msgspec.json.Encoder()


class EmbeddingsIn(msgspec.Struct, frozen=True, kw_only=True):
    model: str
    input: str | list[Any]
    dimensions: int | None = None
    encoding_format: str | None = None
    user: str | None = None


class EmbeddingsUsageWire(msgspec.Struct, kw_only=True):
    prompt_tokens: int = 0
    total_tokens: int = 0


class EmbeddingsOutWire(msgspec.Struct, kw_only=True):
    usage: EmbeddingsUsageWire | None = None


_DECODER = msgspec.json.Decoder(EmbeddingsIn)
_OUT = msgspec.json.Decoder(EmbeddingsOutWire)


class EmbeddingsCall(msgspec.Struct, frozen=True, kw_only=True):
    """A checked embeddings request: its public model, the client's fields, and a chat stand-in for estimates."""

    model: str
    fields: dict[str, Any]
    stand_in: ChatRequest

    def upstream_body(self, upstream_model: str) -> bytes:
        return _ENCODER.encode({**self.fields, "model": upstream_model})


def decode_embeddings_request(body: bytes) -> EmbeddingsCall:
    try:
        wire = _DECODER.decode(body)
        fields = _DICT.decode(body)
    except UNDECODABLE as error:
        raise from_validation_error(error) from None
    texts = _texts(wire.input)
    if wire.dimensions is not None and wire.dimensions < 1:
        raise invalid_field("dimensions", f"must be at least 1, got {wire.dimensions}")
    if wire.encoding_format not in (None, "float", "base64"):
        raise invalid_field("encoding_format", "must be 'float' or 'base64'")
    stand_in = ChatRequest(model=wire.model, messages=(Message(role="user", content="\n".join(texts)),))
    return EmbeddingsCall(model=wire.model, fields=fields, stand_in=stand_in)


def _texts(value: str | list[Any]) -> list[str]:
    """Texts or token-id arrays (counted as their ids' text, for estimates only); empty input is refused."""
    items = [value] if isinstance(value, str) else value
    if not items:
        raise invalid_field("input", "must not be empty")
    texts: list[str] = []
    for i, item in enumerate(items):
        if isinstance(item, str) and item:
            texts.append(item)
        elif isinstance(item, int) and not isinstance(item, bool):
            texts.append(str(item))
        elif isinstance(item, list) and item and all(isinstance(t, int) for t in item):
            texts.append(" ".join(map(str, item)))
        else:
            raise invalid_field(f"input[{i}]", "must be a non-empty string or an array of token ids")
    return texts


def embeddings_usage(body: bytes) -> Usage | None:
    try:
        wire = _OUT.decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError) as error:
        raise UpstreamProtocolError(f"upstream sent an invalid embeddings response: {error}") from None
    if wire.usage is None:
        return None
    return Usage(prompt_tokens=wire.usage.prompt_tokens or wire.usage.total_tokens)


def readdressed(body: bytes, *, model: str) -> bytes:
    """The upstream's answer under the public model id (the client never sees upstream ids)."""
    try:
        answer = _DICT.decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError) as error:
        raise UpstreamProtocolError(f"upstream sent an invalid embeddings response: {error}") from None
    return _ENCODER.encode({**answer, "model": model})
