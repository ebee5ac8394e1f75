"""Usage events become debits: one per request id, none for anonymous or free requests."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from tollway.billing.domain.ledger import Entry
from tollway.contracts import RequestCompletedV1


class InvalidUsageEventError(ValueError):
    """A usage event no retry can fix (it ends in dead letters and error_monitor, never silently dropped)."""


class Charge(msgspec.Struct, frozen=True):
    """One debit to post for one usage event."""

    event_id: str
    user_id: str
    entry: Entry


def usage_reference(request_id: str) -> str:
    return f"usage:{request_id}"


def charges_from(events: Sequence[RequestCompletedV1]) -> list[Charge]:
    """The debits of a batch, the first event of each request id only; anonymous and free requests owe nothing."""
    charges: dict[str, Charge] = {}
    for event in events:
        charge = charge_for(event)
        if charge is not None:
            charges.setdefault(charge.entry.reference, charge)
    return list(charges.values())


def charge_for(event: RequestCompletedV1) -> Charge | None:
    if event.cost_micros < 0:
        raise InvalidUsageEventError(f"request {event.request_id}: negative cost {event.cost_micros}")
    if event.is_anonymous or event.cost_micros == 0:
        return None
    if not event.user_id:
        raise InvalidUsageEventError(f"request {event.request_id}: not anonymous but has no user_id")
    entry = Entry(
        type="usage",
        amount_micros=-event.cost_micros,
        reference=usage_reference(event.request_id),
        description=f"{event.requested_model} via {event.provider}",
        metadata={
            "request_id": event.request_id,
            "api_key_id": event.api_key_id,
            "model": event.requested_model,
            "prompt_tokens": event.prompt_tokens,
            "completion_tokens": event.completion_tokens,
            "usage_estimated": event.usage_estimated,
            "completed_at": event.occurred_at.isoformat(),  # a key budget's period is the request's, not billing's
        },
    )
    return Charge(event.event_id, event.user_id, entry)
