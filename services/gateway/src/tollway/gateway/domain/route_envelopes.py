"""The admission envelope of the public routes beside chat: model, output cap and stream, per route.

Admission itself is chat's (``handlers.admit_chat``): these routes present it a chat-shaped envelope of the same
size (the prompt estimate counts body bytes), then forward the client's own body unchanged.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from tollway.contracts.internal_api import PublicApiName
from tollway.gateway.domain.rejections import BadRequestError

PositiveInt = Annotated[int, msgspec.Meta(ge=1)]
LEGACY_DEFAULT_MAX_TOKENS = 16  # /v1/completions without max_tokens generates at most 16 tokens


class RouteEnvelope(msgspec.Struct, frozen=True):
    """Every route's body has ``model``; the cap is ``max_output_tokens`` (Responses) or ``max_tokens``."""

    model: Annotated[str, msgspec.Meta(min_length=1)]
    max_tokens: PositiveInt | None = None
    max_output_tokens: PositiveInt | None = None
    stream: bool | None = None


class PublicRoute(msgspec.Struct, frozen=True, kw_only=True):
    """A public inference route: the format it speaks to the router, its metric name, defaults."""

    api: PublicApiName
    name: str
    streams_by_default: bool = False
    default_cap: int | None = None  # the output cap when the body names none (``None``: the model's)
    emits_output: bool = True  # embeddings produce no output tokens: hold for none


_decoder = msgspec.json.Decoder(RouteEnvelope)
_encoder = msgspec.json.Encoder()


def decode_route_envelope(body: bytes, route: PublicRoute) -> tuple[RouteEnvelope, bool, int | None]:
    """The envelope, whether the answer streams, and the output cap to hold for; ``BadRequestError`` if malformed."""
    try:
        envelope = _decoder.decode(body)
    except msgspec.ValidationError as exc:
        text = str(exc)
        field = "model" if "`model`" in text or "$.model" in text else None
        raise BadRequestError(f"invalid request body: {text}", field) from None
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        raise BadRequestError("the request body is not valid JSON") from None
    stream = route.streams_by_default if envelope.stream is None else envelope.stream
    cap = envelope.max_output_tokens or envelope.max_tokens or route.default_cap
    return envelope, stream, (cap if route.emits_output else 1)


def chat_shaped(envelope: RouteEnvelope, *, stream: bool, cap: int | None, size: int) -> bytes:
    """A chat envelope with the same model, stream and cap, padded with JSON whitespace to ``size`` bytes."""
    fields: dict[str, object] = {"model": envelope.model, "messages": []}
    if stream:
        fields["stream"] = True
    if cap is not None:
        fields["max_tokens"] = cap
    body = _encoder.encode(fields)
    return body + b" " * max(0, size - len(body))
