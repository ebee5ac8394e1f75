"""Rate limits: requests and tokens per minute and requests per day, per key, per user or per anonymous client."""

from __future__ import annotations

import enum

import msgspec

MS_PER_S = 1000


class Kind(enum.StrEnum):
    """What a window counts; OpenAI's headers report one ``-requests`` and one ``-tokens`` window."""

    REQUESTS = "requests"
    TOKENS = "tokens"


class Subject(enum.StrEnum):
    """Who an override applies to."""

    USER = "user"
    API_KEY = "api_key"


class Limits(msgspec.Struct, frozen=True, kw_only=True):
    """One subject's limits; 0 means unlimited."""

    rpm: int = 0
    tpm: int = 0
    rpd: int = 0


class LimitOverride(msgspec.Struct, frozen=True, kw_only=True):
    """A stored override: ``None`` keeps the default for that dimension, 0 lifts the limit."""

    rpm: int | None = None
    tpm: int | None = None
    rpd: int | None = None

    def over(self, defaults: Limits) -> Limits:
        return Limits(
            rpm=defaults.rpm if self.rpm is None else self.rpm,
            tpm=defaults.tpm if self.tpm is None else self.tpm,
            rpd=defaults.rpd if self.rpd is None else self.rpd,
        )


class Window(msgspec.Struct, frozen=True, kw_only=True):
    """One GCRA bucket to charge: ``limit`` units per ``period_ms``, this request costs ``cost`` units."""

    scope: str  # "key:<id>", "user" or "ip:<hash>": where the bucket lives under the account
    name: str  # rpm, tpm or rpd
    kind: Kind
    limit: int
    period_ms: int
    cost: int


class Periods(msgspec.Struct, frozen=True, kw_only=True):
    minute_ms: int = 60_000
    day_ms: int = 86_400_000


def windows_for(scope: str, limits: Limits, tokens: int, periods: Periods) -> list[Window]:
    """The windows ``limits`` put on one request of ``tokens`` estimated tokens (unlimited ones are left out)."""
    candidates = (
        ("rpm", Kind.REQUESTS, limits.rpm, periods.minute_ms, 1),
        ("tpm", Kind.TOKENS, limits.tpm, periods.minute_ms, tokens),
        ("rpd", Kind.REQUESTS, limits.rpd, periods.day_ms, 1),
    )
    return [
        Window(scope=scope, name=name, kind=kind, limit=limit, period_ms=period, cost=cost)
        for name, kind, limit, period, cost in candidates
        if limit > 0
    ]


def go_duration(ms: int) -> str:
    """OpenAI's reset format (Go's ``time.Duration``): ``250ms``, ``1s``, ``1.5s``, ``6m0s``, ``1h2m3s``."""
    ms = max(0, ms)
    if ms < MS_PER_S:
        return f"{ms}ms"
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds = f"{rest / MS_PER_S:.3f}".rstrip("0").rstrip(".")
    if hours:
        return f"{hours}h{minutes}m{seconds}s"
    if minutes:
        return f"{minutes}m{seconds}s"
    return f"{seconds}s"


def retry_after_headers(retry_after_ms: int) -> dict[str, str]:
    """``Retry-After`` in whole seconds (at least 1, rounded up) and the exact ``retry-after-ms`` the SDKs prefer."""
    retry_after_ms = max(1, retry_after_ms)
    return {"retry-after": str(max(1, -(-retry_after_ms // MS_PER_S))), "retry-after-ms": str(retry_after_ms)}
