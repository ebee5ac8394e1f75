"""The chat envelope: the few fields the gateway reads, and errors that name the field at fault."""

from __future__ import annotations

import pytest

from tollway.gateway.domain.envelope import decode_envelope
from tollway.gateway.domain.rejections import BadRequestError


def test_only_the_gateway_s_fields_are_read_and_the_rest_is_allowed() -> None:
    envelope = decode_envelope(
        b'{"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": 2, "tools": [{"x": 1}],'
        b' "max_completion_tokens": 30, "max_tokens": 10, "stream": true}'
    )
    assert (envelope.model, envelope.output_cap, envelope.stream, len(envelope.messages)) == ("m", 30, True, 1)
    assert decode_envelope(b'{"model": "m", "messages": []}').output_cap is None


@pytest.mark.parametrize(
    ("body", "message", "param"),
    [
        (b'{"model": "m", "messages": [', "the request body is not valid JSON", None),
        (b"[1, 2]", "the request body must be a JSON object", None),
        (b'{"messages": []}', "`model` is required", "model"),
        (b'{"model": "m"}', "`messages` is required", "messages"),
        (b'{"model": "", "messages": []}', "invalid `model`: expected `str` of length >= 1", "model"),
        (b'{"model": 3, "messages": []}', "invalid `model`: expected `str`, got `int`", "model"),
        (b'{"model": "m", "messages": "hi"}', "invalid `messages`: expected `array`, got `str`", "messages"),
        (
            b'{"model": "m", "messages": [], "max_tokens": "9"}',
            "invalid `max_tokens`: expected `int | null`, got `str`",
            "max_tokens",
        ),
        (b'{"model": "m", "messages": [], "max_tokens": 0}', "invalid `max_tokens`: expected `int` >= 1", "max_tokens"),
        (b'{"model": "m", "messages": [], "stream": "yes"}', "invalid `stream`: expected `bool`, got `str`", "stream"),
    ],
)
def test_malformed_bodies_name_what_is_wrong(body: bytes, message: str, param: str | None) -> None:
    with pytest.raises(BadRequestError) as refused:
        decode_envelope(body)
    assert (refused.value.message, refused.value.param, refused.value.status) == (message, param, 400)
