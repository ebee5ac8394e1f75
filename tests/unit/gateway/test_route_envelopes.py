"""The admission envelope of the routes beside chat, and the usage tap on their answers."""

import msgspec
import pytest

from tollway.gateway.api.inference_routes import ROUTES
from tollway.gateway.domain.envelope import decode_envelope
from tollway.gateway.domain.rejections import BadRequestError
from tollway.gateway.domain.route_envelopes import chat_shaped, decode_route_envelope
from tollway.gateway.domain.usage import Usage, UsageTap


@pytest.mark.parametrize(
    ("path", "body", "stream", "cap"),
    [
        ("/v1/responses", {"model": "m", "input": "x", "max_output_tokens": 9}, False, 9),
        ("/v1/responses", {"model": "m", "input": "x", "stream": True}, True, None),
        ("/v1/completions", {"model": "m", "prompt": "x"}, False, 16),  # the legacy default cap
        ("/v1/embeddings", {"model": "m", "input": "x"}, False, 1),  # no output to hold for
        ("/api/chat/ai-sdk", {"model": "m", "messages": []}, True, None),  # streams unless told not to
        ("/api/chat/ai-sdk", {"model": "m", "messages": [], "stream": False, "max_tokens": 5}, False, 5),
    ],
)
def test_envelope_per_route(path: str, body: dict[str, object], stream: bool, cap: int | None) -> None:
    raw = msgspec.json.encode(body)
    envelope, streams, held = decode_route_envelope(raw, ROUTES[path])
    assert (envelope.model, streams, held) == ("m", stream, cap)
    stand_in = chat_shaped(envelope, stream=streams, cap=held, size=len(raw) + 40)
    assert len(stand_in) == len(raw) + 40  # same size: the prompt estimate counts body bytes
    chat = decode_envelope(stand_in)
    assert (chat.model, chat.stream, chat.output_cap) == ("m", stream, cap)


@pytest.mark.parametrize("body", [b"{", b'{"input": "x"}', b'{"model": ""}', b'{"model": "m", "max_tokens": 0}'])
def test_bad_envelopes_are_400(body: bytes) -> None:
    with pytest.raises(BadRequestError):
        decode_route_envelope(body, ROUTES["/v1/responses"])


def _tapped(chunks: list[bytes], *, stream: bool) -> Usage | None:
    tap = UsageTap(stream=stream)
    for chunk in chunks:
        tap.feed(chunk)
    return tap.usage()


def test_usage_tap_reads_the_new_answers() -> None:
    embeddings = b'{"data": [], "usage": {"prompt_tokens": 4, "total_tokens": 4}}'
    assert _tapped([embeddings], stream=False) == Usage(4, 0)
    ai_sdk = [
        b'f:{"messageId":"m"}\n0:"hi"\n',
        b'e:{"finishReason":"stop","usage":{"promptTokens":3,"completionTokens":2}}\n',
        b'd:{"finishReason":"stop","usage":{"promptTokens":3,"completionTokens":2}}\n',
    ]
    assert _tapped(ai_sdk, stream=True) == Usage(3, 2)
    long_text = "x" * 5000  # the final event is long; its type and usage come last
    completed = (
        b'event: response.completed\ndata: {"sequence_number":9,"response":{"output":[{"text":"'
        + long_text.encode()
        + b'"}],"usage":{"input_tokens":5,"output_tokens":7,"total_tokens":12}},"type":"response.completed"}\n\n'
    )
    assert _tapped([completed], stream=True) == Usage(5, 7)
    assert _tapped([b'data: {"type":"response.output_text.delta"}\n\n'], stream=True) is None  # cut short
