"""The body the gateway forwards for path-addressed APIs (Gemini, Bedrock): ``{"model", "stream", "request"}``.

Those APIs name the model (and whether the answer streams) in the URL, not the body; the gateway puts both beside
the client's body, unchanged under ``request``, so the router decodes one document and the client's field paths
stay its own (``contents[0].parts``, not ``request.contents[0].parts``).
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

import msgspec

from tollway.inference_router.domain.errors import UNDECODABLE, InvalidRequestError, from_validation_error


class NativeEnvelope(msgspec.Struct, frozen=True):
    model: Annotated[str, msgspec.Meta(min_length=1)]
    request: msgspec.Raw
    stream: bool = False


T = TypeVar("T")
_ENVELOPE = msgspec.json.Decoder(NativeEnvelope)
_OBJECT = msgspec.json.Decoder(dict[str, Any])


def open_envelope(body: bytes) -> tuple[NativeEnvelope, dict[str, Any]]:
    """The envelope and the client's body as a JSON object; 400 when either is not what it must be."""
    try:
        envelope = _ENVELOPE.decode(body)
        request = _OBJECT.decode(envelope.request)
    except UNDECODABLE as error:
        if isinstance(error, msgspec.ValidationError):
            raise InvalidRequestError("the request body must be a JSON object") from None
        raise from_validation_error(error) from None
    return envelope, request


def convert(document: dict[str, Any], kind: type[T]) -> T:
    """``document`` as ``kind``; a wrong field is a 400 naming its path in the client's body."""
    try:
        return msgspec.convert(document, kind)
    except msgspec.ValidationError as error:
        raise from_validation_error(error) from None
