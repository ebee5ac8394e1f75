"""Gemini's and Bedrock Runtime's own routes: their paths (the model is in the URL), keys, caps and forwarded body.

The router's chat path takes a body naming the model, so the gateway forwards ``{"model", "stream", "request"}``
with the client's body, unchanged, under ``request``.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

import msgspec

from tollway.gateway.domain.rejections import BadRequestError

PositiveInt = Annotated[int, msgspec.Meta(ge=1)]
NativeApi = Literal["gemini", "bedrock"]
_PARAMETER = re.compile(r"\\\{(\w+)\\\}")
_SIGV4_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")


class NativeRoute(msgspec.Struct, frozen=True, kw_only=True):
    """One path-addressed public route: the format it speaks to the router, its metric name, whether it streams."""

    api: NativeApi
    name: str
    template: str  # ``{model}`` / ``{modelId}`` marks the model id (which may itself hold ``/`` or ``:``)
    stream: bool

    @property
    def pattern(self) -> re.Pattern[str]:
        return re.compile(_PARAMETER.sub(r"(?P<model>.+)", re.escape(self.template)))


def _gemini(version: str, method: str, *, stream: bool) -> NativeRoute:
    name = "gemini_stream_generate_content" if stream else "gemini_generate_content"
    return NativeRoute(api="gemini", name=name, template=f"/{version}/models/{{model}}:{method}", stream=stream)


def _bedrock(operation: str, *, stream: bool) -> NativeRoute:
    name = "bedrock_converse_stream" if stream else "bedrock_converse"
    return NativeRoute(api="bedrock", name=name, template=f"/model/{{modelId}}/{operation}", stream=stream)


# google-genai calls ``/v1/...`` when given a base URL (``api_version="v1beta"`` for the other); both are served.
NATIVE_ROUTES: dict[str, NativeRoute] = {
    route.template: route
    for route in (
        _gemini("v1beta", "generateContent", stream=False),
        _gemini("v1beta", "streamGenerateContent", stream=True),
        _gemini("v1", "generateContent", stream=False),
        _gemini("v1", "streamGenerateContent", stream=True),
        _bedrock("converse", stream=False),
        _bedrock("converse-stream", stream=True),
    )
}


class _GenerationConfig(msgspec.Struct, frozen=True, rename="camel"):
    max_output_tokens: PositiveInt | None = None


class GeminiEnvelope(msgspec.Struct, frozen=True, rename="camel"):
    """The cap of a ``generateContent`` body (camelCase, or snake_case as Gemini's REST docs write it)."""

    generation_config: _GenerationConfig | None = None
    generation_config_snake: _GenerationConfig | None = msgspec.field(default=None, name="generation_config")

    @property
    def cap(self) -> int | None:
        config = self.generation_config or self.generation_config_snake
        return config.max_output_tokens if config is not None else None


class _InferenceConfig(msgspec.Struct, frozen=True, rename="camel"):
    max_tokens: PositiveInt | None = None


class ConverseEnvelope(msgspec.Struct, frozen=True, rename="camel"):
    inference_config: _InferenceConfig | None = None

    @property
    def cap(self) -> int | None:
        return self.inference_config.max_tokens if self.inference_config is not None else None


_gemini_decoder = msgspec.json.Decoder(GeminiEnvelope)
_converse_decoder = msgspec.json.Decoder(ConverseEnvelope)
_encoder = msgspec.json.Encoder()


def output_cap(api: NativeApi, body: bytes) -> int | None:
    """The body's output cap (``None``: the model's); ``BadRequestError`` if it is not a JSON object."""
    try:
        envelope = _gemini_decoder.decode(body) if api == "gemini" else _converse_decoder.decode(body)
        return envelope.cap
    except msgspec.ValidationError as exc:
        raise BadRequestError(f"invalid request body: {exc}") from None
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        raise BadRequestError("the request body is not valid JSON") from None


def forwarded_body(model: str, *, stream: bool, body: bytes) -> bytes:
    """What the router's chat path reads; ``body`` was decoded by ``output_cap`` first, so it is one JSON value."""
    head = _encoder.encode({"model": model, "stream": stream})
    return head[:-1] + b',"request":' + body + b"}"


def sigv4_access_key(authorization: str) -> str | None:
    """The access key id of a SigV4 ``Authorization`` header (where a Bedrock client carries a Tollway key)."""
    if not authorization.startswith("AWS4-HMAC-SHA256 "):
        return None
    found = _SIGV4_CREDENTIAL.search(authorization)
    return found.group(1) if found else None
