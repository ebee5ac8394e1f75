"""The OpenAI embeddings surface: ``POST /v1/embeddings``, float lists or base64 (the SDK's default) vectors.

A vector is a deterministic function of its input text (``dimensions`` long, 8 unless asked), unit length.
"""

import base64
import hashlib
import math
import struct

import msgspec

from tollway.fakellm.controls import Controls
from tollway.fakellm.exchange import Incoming, admit
from tollway.fakellm.responses import Send, send_error, send_json
from tollway.fakellm.tokens import prompt_tokens

DEFAULT_DIMENSIONS = 8
_ENCODE = msgspec.json.encode


class EmbeddingsRequest(msgspec.Struct):
    model: str
    input: str | list[str | int | list[int]]
    dimensions: int | None = None
    encoding_format: str | None = None


_DECODER = msgspec.json.Decoder(EmbeddingsRequest)


def vector(text: str, dimensions: int) -> list[float]:
    digest = b""
    counter = 0
    while len(digest) < dimensions * 2:
        digest += hashlib.sha256(f"{counter}:{text}".encode()).digest()
        counter += 1
    raw = [int.from_bytes(digest[i * 2 : i * 2 + 2], "little") / 65535 - 0.5 for i in range(dimensions)]
    norm = math.sqrt(sum(v * v for v in raw)) or 1.0
    return [v / norm for v in raw]


def _inputs(value: str | list[str | int | list[int]]) -> list[str]:
    """Texts, or token arrays spelled as text (one array of ids, or a list of them)."""
    if isinstance(value, str):
        return [value]
    if value and all(isinstance(item, int) for item in value):
        return [" ".join(map(str, value))]
    return [item if isinstance(item, str) else " ".join(map(str, item)) for item in value if not isinstance(item, int)]


async def embeddings(incoming: Incoming, send: Send, defaults: Controls) -> None:
    admitted = await admit(incoming, send, "openai", _DECODER, defaults)
    if admitted is None:
        return
    request, context = admitted
    texts = _inputs(request.input)
    if not texts or (request.dimensions is not None and request.dimensions < 1):
        await send_error(send, "openai", 400, "fakellm: input must not be empty; dimensions must be at least 1")
        return
    dimensions = request.dimensions or DEFAULT_DIMENSIONS
    as_base64 = request.encoding_format == "base64"
    data = [
        {"object": "embedding", "index": index, "embedding": _encoded(vector(text, dimensions), as_base64)}
        for index, text in enumerate(texts)
    ]
    tokens = sum(prompt_tokens(len(text)) for text in texts)
    body = {
        "object": "list",
        "data": data,
        "model": context.model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
    await send_json(send, 200, _ENCODE(body))


def _encoded(values: list[float], as_base64: bool) -> list[float] | str:
    if not as_base64:
        return values
    return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()
