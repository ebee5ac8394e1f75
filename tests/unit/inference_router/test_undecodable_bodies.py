"""Bodies msgspec cannot decode for reasons beyond its own errors are the router's 400, in both public formats."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tollway.inference_router.domain.anthropic_request import decode_anthropic_request
from tollway.inference_router.domain.canonical import ChatRequest
from tollway.inference_router.domain.errors import InvalidRequestError
from tollway.inference_router.domain.openai_request import decode_openai_request

DEEP = b"[" * 10_000 + b"]" * 10_000
BODIES = {
    "invalid utf-8": b'{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"\xc3("}]}',
    "nested at the top": DEEP,
    "nested in a field": b'{"model":"m","max_tokens":5,"messages":[],"x_unknown":' + DEEP + b"}",
    "nested objects": b'{"model":"m","x":' + b'{"a":' * 10_000 + b"1" + b"}" * 10_001,
}


@pytest.mark.parametrize("decode", [decode_openai_request, decode_anthropic_request])
@pytest.mark.parametrize("name", sorted(BODIES))
def test_undecodable_bodies_are_invalid_requests(decode: Callable[[bytes], ChatRequest], name: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        decode(BODIES[name])
    assert caught.value.status == 400
