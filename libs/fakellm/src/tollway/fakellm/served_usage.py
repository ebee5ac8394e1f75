"""What this worker process served per (provider API, model, UTC day), for the admin APIs to report back."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

import msgspec

TOKENS_PER_PRICE_UNIT = 1_000_000  # prices are per million tokens, as in Tollway's catalogue


class Prices(msgspec.Struct, frozen=True, kw_only=True):
    """Micro-USD per million tokens of each kind (the catalogue's ``prices``)."""

    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_write: int = 0


class Tokens(msgspec.Struct, frozen=True, order=True):
    """One answer's billed tokens; input excludes cache reads and writes, output includes reasoning."""

    input: int
    output: int
    cache_read: int = 0
    cache_write: int = 0

    def cost_micros(self, prices: Prices) -> int:
        """Rounded up per request, as Tollway's router rounds each request's cost."""
        numerator = (
            self.input * prices.input
            + self.output * prices.output
            + self.cache_read * prices.cache_read
            + self.cache_write * prices.cache_write
        )
        return -(-numerator // TOKENS_PER_PRICE_UNIT)


class Served(msgspec.Struct, frozen=True, kw_only=True):
    provider: str  # "openai" | "anthropic": the API that served it, so the admin API of that provider reports it
    model: str
    day: date
    tokens: Tokens
    cost_micros: int


class ServedUsage:
    """Answers counted by identical usage: the fake's answers repeat, so the ledger stays small under load."""

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str, date, Tokens]] = Counter()

    def note(self, provider: str, model: str, tokens: Tokens) -> None:
        self._counts[(provider, model, datetime.now(UTC).date(), tokens)] += 1

    def reset(self) -> None:
        self._counts.clear()

    def totals(self, provider: str, day: date, prices: dict[str, Prices], overreport_percent: int) -> list[Served]:
        """Per model: tokens and cost served that day, raised by ``overreport_percent`` (a provider over-billing)."""
        summed: dict[str, tuple[list[int], int]] = {}
        for (api, model, served_on, tokens), count in sorted(self._counts.items()):
            if api != provider or served_on != day:
                continue
            figures, cost = summed.setdefault(model, ([0, 0, 0, 0], 0))
            for index, value in enumerate((tokens.input, tokens.output, tokens.cache_read, tokens.cache_write)):
                figures[index] += value * count
            summed[model] = (figures, cost + count * tokens.cost_micros(prices.get(model, Prices())))
        scale = 100 + overreport_percent
        return [
            Served(
                provider=provider,
                model=model,
                day=day,
                tokens=Tokens(*(value * scale // 100 for value in figures)),
                cost_micros=-(-cost * scale // 100),
            )
            for model, (figures, cost) in sorted(summed.items())
        ]


SERVED = ServedUsage()  # per worker process, like the stats
