"""Control parsing: headers beat model directives beat environment defaults."""

import pytest

from tollway.fakellm.controls import (
    ControlError,
    Controls,
    apply,
    from_environ,
    header_directives,
    resolve,
    split_model,
)
from tollway.fakellm.settings import server_settings


def test_plain_model_has_no_directives() -> None:
    assert split_model("fake-gpt") == ("fake-gpt", [])


def test_model_directives_are_split_in_order() -> None:
    assert split_model("fake-gpt+retry_after=2+status=429") == ("fake-gpt", [("retry_after", "2"), ("status", "429")])


def test_model_directive_without_value_is_rejected() -> None:
    with pytest.raises(ControlError, match="name=value"):
        split_model("fake-gpt+fast")


def test_header_directives_keep_only_fakellm_headers() -> None:
    headers = [(b"content-type", b"application/json"), (b"x-fakellm-latency-ms", b"15"), (b"x-other", b"1")]
    assert header_directives(headers) == [("latency-ms", "15")]


def test_nothing_to_apply_returns_the_defaults_object_itself() -> None:
    defaults = Controls()
    assert resolve(defaults, [], []) is defaults


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("latency", "200", Controls(latency_ms=200.0)),
        ("latency-ms", "1.5", Controls(latency_ms=1.5)),
        ("ttft", "30", Controls(ttft_ms=30.0)),
        ("tps", "50", Controls(tokens_per_second=50.0)),
        ("tokens", "3", Controls(completion_tokens=3)),
        ("completion_tokens", "0", Controls(completion_tokens=0)),
        ("status", "503", Controls(status=503)),
        ("retry_after", "2", Controls(retry_after="2")),
        ("disconnect", "5", Controls(disconnect_after=5)),
        ("cache_read", "7", Controls(cache_read_tokens=7)),
        ("cache-write-tokens", "8", Controls(cache_write_tokens=8)),
        ("REASONING", "9", Controls(reasoning_tokens=9)),
    ],
)
def test_every_control_and_alias_parses(name: str, value: str, expected: Controls) -> None:
    assert apply(Controls(), [(name, value)]) == expected


@pytest.mark.parametrize(
    ("name", "value"),
    [("status", "200"), ("status", "abc"), ("latency", "-1"), ("latency", "nan"), ("tokens", "1.5"), ("bogus", "1")],
)
def test_bad_controls_are_rejected(name: str, value: str) -> None:
    with pytest.raises(ControlError):
        apply(Controls(), [(name, value)])


def test_headers_win_over_model_directives_which_win_over_env() -> None:
    env = from_environ({"FAKELLM_LATENCY_MS": "5", "FAKELLM_COMPLETION_TOKENS": "7", "FAKELLM_STATUS": "500"})
    controls = resolve(env, [("latency", "10"), ("status", "429")], [("status", "503")])
    assert controls == Controls(latency_ms=10.0, completion_tokens=7, status=503)


def test_environment_defaults_cover_every_control() -> None:
    controls = from_environ({"FAKELLM_TOKENS_PER_SECOND": "100", "FAKELLM_RETRY_AFTER": "3", "UNRELATED": "x"})
    assert controls == Controls(tokens_per_second=100.0, retry_after="3")


def test_first_token_delay_is_what_ttft_adds_beyond_latency() -> None:
    assert Controls(latency_ms=50).first_token_delay_ms == 0
    assert Controls(latency_ms=50, ttft_ms=80).first_token_delay_ms == 30
    assert Controls(latency_ms=50, ttft_ms=10).first_token_delay_ms == 0


def test_server_settings_read_the_environment() -> None:
    settings = server_settings({"FAKELLM_PORT": "9999", "FAKELLM_WORKERS": "3"})
    assert (settings.host, settings.port, settings.workers) == ("127.0.0.1", 9999, 3)
