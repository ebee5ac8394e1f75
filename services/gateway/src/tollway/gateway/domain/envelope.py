"""The few fields of a chat body the gateway needs (model, output cap, stream); the router validates the rest."""

from __future__ import annotations

import re
from typing import Annotated

import msgspec

from tollway.gateway.domain.rejections import BadRequestError

PositiveInt = Annotated[int, msgspec.Meta(ge=1)]
_AT_PATH = re.compile(r" - at `\$\.?([^`]*)`$")
_MISSING = re.compile(r"missing required field `(\w+)`")


class ChatEnvelope(msgspec.Struct, frozen=True):
    """OpenAI and Anthropic bodies alike; unknown fields are skipped without being decoded."""

    model: Annotated[str, msgspec.Meta(min_length=1)]
    messages: list[msgspec.Raw]
    max_tokens: PositiveInt | None = None
    max_completion_tokens: PositiveInt | None = None
    stream: bool = False

    @property
    def output_cap(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens


_decoder = msgspec.json.Decoder(ChatEnvelope)


def decode_envelope(body: bytes) -> ChatEnvelope:
    """The envelope of ``body``, or ``BadRequestError`` naming the offending field.

    Beyond its validation and syntax errors, msgspec raises ``UnicodeDecodeError`` for invalid UTF-8 in a string it
    decodes and ``RecursionError`` past ~1,000 levels of nesting; both are the client's malformed JSON, not ours.
    Strings it only skips (inside ``messages`` and unknown fields) are not checked, so the whole body is: JSON is
    UTF-8 (RFC 8259), and the router must never receive bytes it cannot decode.
    """
    try:
        envelope = _decoder.decode(body)
        body.decode("utf-8")  # the fast ASCII path: microseconds for a typical body
    except msgspec.ValidationError as exc:
        raise _invalid(str(exc)) from None
    except (msgspec.DecodeError, UnicodeDecodeError):
        raise BadRequestError("the request body is not valid JSON") from None
    except RecursionError:
        raise BadRequestError("the request body is nested too deeply (at most about 1,000 levels)") from None
    return envelope


def _invalid(message: str) -> BadRequestError:
    missing = _MISSING.search(message)
    if missing:
        return BadRequestError(f"`{missing.group(1)}` is required", missing.group(1))
    at = _AT_PATH.search(message)
    if at is None:
        return BadRequestError("the request body must be a JSON object")
    param = at.group(1) or None
    detail = message[: at.start()].replace("Expected", "expected")
    return BadRequestError(f"invalid `{param}`: {detail}", param)
