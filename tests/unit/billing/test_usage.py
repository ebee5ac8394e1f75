"""Usage events become one debit per request id; anonymous and free requests owe nothing."""

from __future__ import annotations

import pytest

from tollway.billing.domain.usage import InvalidUsageEventError, charges_from
from tollway.contracts import RequestCompletedV1


def completed(request_id: str, cost: int, user_id: str | None = "u1", *, anonymous: bool = False) -> RequestCompletedV1:
    return RequestCompletedV1(
        event_id=request_id,
        request_id=request_id,
        user_id=user_id,
        account_id=None,
        api_key_id="key_1",
        is_anonymous=anonymous,
        requested_model="gpt-x",
        provider="p",
        upstream_model="gpt-x-1",
        is_fallback=False,
        attempts=1,
        prompt_tokens=3,
        completion_tokens=4,
        cost_micros=cost,
    )


def test_one_charge_per_request_id_in_a_batch() -> None:
    charges = charges_from([completed("r1", 10), completed("r2", 20), completed("r1", 10)])
    assert [(c.event_id, c.entry.reference, c.entry.amount_micros) for c in charges] == [
        ("r1", "usage:r1", -10),
        ("r2", "usage:r2", -20),
    ]
    assert charges[0].entry.metadata["request_id"] == "r1"


def test_anonymous_and_free_requests_are_not_charged() -> None:
    assert charges_from([completed("r1", 0), completed("r2", 50, None, anonymous=True)]) == []


@pytest.mark.parametrize("event", [completed("r1", -1), completed("r2", 10, None)])
def test_impossible_events_are_rejected_not_dropped(event: RequestCompletedV1) -> None:
    with pytest.raises(InvalidUsageEventError):
        charges_from([event])
