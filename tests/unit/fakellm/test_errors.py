"""Provider-shaped error bodies."""

import msgspec

from tollway.fakellm.errors import anthropic_error, openai_error, provider_for_path


def test_openai_rate_limit_shape() -> None:
    body = msgspec.json.decode(openai_error(429, "slow down"))
    assert body == {"error": {"message": "slow down", "type": "requests", "param": None, "code": "rate_limit_exceeded"}}


def test_anthropic_shapes_by_status() -> None:
    kinds = {
        status: msgspec.json.decode(anthropic_error(status, "m"))["error"]["type"]
        for status in (400, 429, 529, 599, 418)
    }
    assert kinds == {
        400: "invalid_request_error",
        429: "rate_limit_error",
        529: "overloaded_error",
        599: "api_error",
        418: "invalid_request_error",
    }


def test_anthropic_error_envelope() -> None:
    assert msgspec.json.decode(anthropic_error(500, "boom")) == {
        "type": "error",
        "error": {"type": "api_error", "message": "boom"},
    }


def test_paths_pick_their_provider() -> None:
    assert provider_for_path("/v1/messages") == "anthropic"
    assert provider_for_path("/v1/chat/completions") == "openai"
    assert provider_for_path("/anything") == "openai"
