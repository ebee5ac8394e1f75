"""Encoding events to JSON bytes and decoding them back into typed Structs (cached decoders)."""

from __future__ import annotations

from functools import cache
from typing import Any, TypeVar

import msgspec

from tollway.contracts.base import Event

E = TypeVar("E", bound=Event)

MSG_ID_HEADER = "Nats-Msg-Id"
TRACEPARENT_HEADER = "traceparent"
TRACESTATE_HEADER = "tracestate"

_encoder = msgspec.json.Encoder()


def encode(event: Event) -> bytes:
    """The wire form of an event: compact JSON with its ``type`` tag."""
    return _encoder.encode(event)


@cache
def decoder_for(event_type: type[E]) -> msgspec.json.Decoder[E]:
    """A reusable decoder for one event class (or a Union of them)."""
    return msgspec.json.Decoder(event_type)


def decode(event_type: type[E], payload: bytes) -> E:
    """Decode and validate ``payload``; raises ``msgspec.ValidationError``/``DecodeError`` on bad input."""
    decoder: msgspec.json.Decoder[E] = decoder_for(event_type)
    return decoder.decode(payload)


def json_schema(event_type: type[Any]) -> dict[str, Any]:
    """The JSON Schema of an event class, as published for non-Python consumers."""
    return msgspec.json.schema(event_type)
