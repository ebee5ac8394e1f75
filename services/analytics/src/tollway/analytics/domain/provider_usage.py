"""Provider-reported usage and cost per (provider, model, day), and its reconciliation with Tollway's records."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

import msgspec

UsageKey = tuple[str, str, date]  # (provider, model, UTC day): the dedupe key of provider usage
DEFAULT_TOLERANCE_BPS = 200  # ±2 %
_EVENT_NAMESPACE = uuid.UUID("7d1f3c2e-4a5b-4c6d-8e9f-0a1b2c3d4e5f")


class ProviderUsage(msgspec.Struct, frozen=True, kw_only=True):
    """What a provider billed for one model on one UTC day; input excludes cache reads and writes."""

    provider: str
    model: str
    day: date
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_micros: int = 0

    @property
    def key(self) -> UsageKey:
        return (self.provider, self.model, self.day)


class ImportResult(msgspec.Struct, frozen=True, kw_only=True):
    provider: str
    start: date = msgspec.field(name="from")
    end: date = msgspec.field(name="to")
    rows: int  # (model, day) rows the provider reported
    changed: int  # rows inserted or updated: 0 on a re-import
    cursor: date | None  # the last day imported so far: the next import without ``from`` resumes there


class ReconciliationLine(msgspec.Struct, frozen=True, kw_only=True):
    provider: str
    model: str
    day: date
    provider_cost_micros: int
    recorded_cost_micros: int
    drift_bps: int | None  # (provider - recorded) / recorded in basis points; None when nothing was recorded
    drifted: bool


def merged(tokens: Iterable[ProviderUsage], costs: Iterable[tuple[UsageKey, int]]) -> list[ProviderUsage]:
    """One row per key: token rows summed (providers split a model by tier or key), costs added to them."""
    rows: dict[UsageKey, ProviderUsage] = {}
    for row in tokens:
        seen = rows.get(row.key)
        rows[row.key] = row if seen is None else _plus(seen, row)
    for key, micros in costs:
        seen = rows.get(key) or ProviderUsage(provider=key[0], model=key[1], day=key[2])
        rows[key] = msgspec.structs.replace(seen, cost_micros=seen.cost_micros + micros)
    return [rows[key] for key in sorted(rows)]


def _plus(a: ProviderUsage, b: ProviderUsage) -> ProviderUsage:
    return msgspec.structs.replace(
        a,
        input_tokens=a.input_tokens + b.input_tokens,
        output_tokens=a.output_tokens + b.output_tokens,
        cache_read_tokens=a.cache_read_tokens + b.cache_read_tokens,
        cache_write_tokens=a.cache_write_tokens + b.cache_write_tokens,
        cost_micros=a.cost_micros + b.cost_micros,
    )


def micros(amount: str | float, per_unit: int) -> int:
    """An amount in a provider's unit (cents: 10_000 micros, dollars: 1_000_000) as integer micros."""
    return int((Decimal(str(amount)) * per_unit).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def windows(start: date, end: date, days: int) -> list[tuple[date, date]]:
    """``start``..``end`` (both included) in chunks of at most ``days``: each is imported and committed alone."""
    chunks = []
    while start <= end:
        last = min(end, start + timedelta(days=days - 1))
        chunks.append((start, last))
        start = last + timedelta(days=1)
    return chunks


def reconcile(
    reported: Sequence[ProviderUsage], recorded: Mapping[UsageKey, int], tolerance_bps: int = DEFAULT_TOLERANCE_BPS
) -> list[ReconciliationLine]:
    """Every key either side knows, for the providers that reported; drifted beyond ``tolerance_bps``."""
    providers = {row.provider for row in reported}
    theirs = {row.key: row.cost_micros for row in reported}
    keys = sorted(set(theirs) | {key for key in recorded if key[0] in providers})
    return [_line(key, theirs.get(key, 0), recorded.get(key, 0), tolerance_bps) for key in keys]


def _line(key: UsageKey, theirs: int, ours: int, tolerance_bps: int) -> ReconciliationLine:
    drift = None if ours == 0 else round(Decimal((theirs - ours) * 10_000) / ours)
    # Compared in integers: exactly 2 % is within tolerance.
    drifted = abs(theirs - ours) * 10_000 > tolerance_bps * ours
    provider, model, day = key
    return ReconciliationLine(
        provider=provider,
        model=model,
        day=day,
        provider_cost_micros=theirs,
        recorded_cost_micros=ours,
        drift_bps=drift,
        drifted=drifted,
    )


def drift_event_id(line: ReconciliationLine) -> str:
    """The same drift (same key and figures) always gets the same event id: reported once however often it is read."""
    name = f"{line.provider}|{line.model}|{line.day}|{line.provider_cost_micros}|{line.recorded_cost_micros}"
    return str(uuid.uuid5(_EVENT_NAMESPACE, name))
