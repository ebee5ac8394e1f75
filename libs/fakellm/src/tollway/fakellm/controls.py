"""Per-request behaviour controls parsed from x-fakellm-* headers, model-name directives and env defaults."""

from collections.abc import Callable, Iterable, Mapping

import msgspec

HEADER_PREFIX = b"x-fakellm-"
ENV_PREFIX = "FAKELLM_"


class ControlError(ValueError):
    """A control was unknown or carried a value it cannot take; answered with a 400."""


class Controls(msgspec.Struct, frozen=True):
    latency_ms: float = 0.0
    ttft_ms: float | None = None
    tokens_per_second: float = 0.0
    completion_tokens: int = 20
    status: int | None = None
    retry_after: str | None = None
    disconnect_after: int | None = None
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    cache_write_1h_tokens: int = 0

    @property
    def first_token_delay_ms(self) -> float:
        """Extra wait between the first byte and the first token of a stream."""
        return max(0.0, (self.latency_ms if self.ttft_ms is None else self.ttft_ms) - self.latency_ms)


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError(text)
    return value


def _duration(text: str) -> float:
    value = float(text)
    if not value >= 0:  # also rejects NaN
        raise ValueError(text)
    return value


def _status(text: str) -> int:
    value = int(text)
    if not 400 <= value <= 599:
        raise ValueError(text)
    return value


def _retry_after(text: str) -> str:
    _duration(text)
    return text


# Canonical control name (header suffix, lower-case, dashes) -> (Controls field, value parser).
_CONTROLS: dict[str, tuple[str, Callable[[str], object]]] = {
    "latency-ms": ("latency_ms", _duration),
    "ttft-ms": ("ttft_ms", _duration),
    "tokens-per-second": ("tokens_per_second", _duration),
    "completion-tokens": ("completion_tokens", _count),
    "status": ("status", _status),
    "retry-after": ("retry_after", _retry_after),
    "disconnect-after": ("disconnect_after", _count),
    "cache-read-tokens": ("cache_read_tokens", _count),
    "cache-write-tokens": ("cache_write_tokens", _count),
    "reasoning-tokens": ("reasoning_tokens", _count),
    "cache-write-1h-tokens": ("cache_write_1h_tokens", _count),
}

# Short spellings for model-name directives, where every character of a model id counts.
_ALIASES = {
    "latency": "latency-ms",
    "ttft": "ttft-ms",
    "tps": "tokens-per-second",
    "tokens": "completion-tokens",
    "disconnect": "disconnect-after",
    "cache-read": "cache-read-tokens",
    "cache-write": "cache-write-tokens",
    "reasoning": "reasoning-tokens",
    "cache-write-1h": "cache-write-1h-tokens",
}


def _field_value(name: str, raw: str) -> tuple[str, object]:
    key = name.strip().lower().replace("_", "-")
    key = _ALIASES.get(key, key)
    try:
        field, parse = _CONTROLS[key]
    except KeyError:
        raise ControlError(f"fakellm: unknown control {name!r}") from None
    try:
        return field, parse(raw.strip())
    except ValueError:
        raise ControlError(f"fakellm: invalid value {raw!r} for control {name!r}") from None


def split_model(model: str) -> tuple[str, list[tuple[str, str]]]:
    """Split ``fake-gpt+status=503+latency=20`` into the base model and its directives."""
    if "+" not in model:
        return model, []
    base, *parts = model.split("+")
    directives = []
    for part in parts:
        name, sep, value = part.partition("=")
        if not sep:
            raise ControlError(f"fakellm: model directive {part!r} needs the form name=value")
        directives.append((name, value))
    return base, directives


def header_directives(headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    """The x-fakellm-* headers of an ASGI scope as (name, value) pairs."""
    return [
        (name[len(HEADER_PREFIX) :].decode("latin-1"), value.decode("latin-1"))
        for name, value in headers
        if name.startswith(HEADER_PREFIX)
    ]


def apply(base: Controls, directives: Iterable[tuple[str, str]]) -> Controls:
    """Controls with the directives applied in order, so later ones win."""
    changes = dict(_field_value(name, value) for name, value in directives)
    return msgspec.structs.replace(base, **changes) if changes else base


def resolve(base: Controls, model_directives: list[tuple[str, str]], headers: list[tuple[str, str]]) -> Controls:
    """Env defaults, overridden by model directives, overridden by headers."""
    if not model_directives and not headers:
        return base  # the common path: no allocation, no parsing
    return apply(base, [*model_directives, *headers])


def from_environ(environ: Mapping[str, str]) -> Controls:
    """Process defaults from FAKELLM_<CONTROL> variables, e.g. FAKELLM_LATENCY_MS=50."""
    directives = []
    for name in _CONTROLS:
        env_name = ENV_PREFIX + name.upper().replace("-", "_")
        if env_name in environ:
            directives.append((name, environ[env_name]))
    return apply(Controls(), directives)
