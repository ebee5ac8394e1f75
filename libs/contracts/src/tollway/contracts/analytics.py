"""Events analytics publishes: reconciliation drift between provider-reported and recorded cost."""

from __future__ import annotations

from datetime import date

from tollway.contracts.base import Event


class ReconciliationDriftedV1(Event, frozen=True, kw_only=True, tag="analytics.reconciliation.drifted.v1"):
    """A provider reported a cost for (provider, model, day) more than the tolerance away from Tollway's record.

    ``drift_bps`` is (provider - recorded) / recorded in basis points (``None`` when nothing was recorded).
    """

    provider: str
    model: str
    day: date
    provider_cost_micros: int
    recorded_cost_micros: int
    drift_bps: int | None
    tolerance_bps: int = 200
