"""Exact money rendering, opaque cursors and list-parameter validation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tollway.billing.domain.errors import InvalidInputError
from tollway.billing.domain.ledger import Posting
from tollway.billing.domain.money import usd_decimal, usd_label
from tollway.billing.domain.pages import Position, decode_cursor, encode_cursor, make_query, page_of

NOW = datetime(2026, 11, 23, tzinfo=UTC)


@pytest.mark.parametrize(
    ("micros", "decimal", "label"),
    [
        (0, "0.000000", "$0.00"),
        (1, "0.000001", "$0.00"),
        (-1_234_567, "-1.234567", "-$1.23"),
        (1_000_000_000, "1000.000000", "$1,000.00"),
        (5_000, "0.005000", "$0.01"),
    ],
)
def test_money_rendering(micros: int, decimal: str, label: str) -> None:
    assert usd_decimal(micros) == decimal
    assert usd_label(micros) == label


def test_cursor_round_trips_and_rejects_garbage() -> None:
    position = Position(NOW, "txn_1")
    assert decode_cursor(encode_cursor(position)) == position
    for bad in ("", "%%%", "bm90IGpzb24", encode_cursor(position)[:-3]):
        with pytest.raises(InvalidInputError) as caught:
            decode_cursor(bad)
        assert caught.value.param == "cursor"


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"type_": "bonus"}, "type"),
        ({"since": NOW, "until": NOW}, "from"),
        ({"since": datetime(2026, 1, 1)}, "from"),  # noqa: DTZ001 - the naive value is the point
    ],
)
def test_invalid_list_parameters_name_the_parameter(kwargs: dict[str, object], param: str) -> None:
    values: dict[str, object] = {"limit": 20, "type_": None, "since": None, "until": None, "cursor": None, **kwargs}
    with pytest.raises(InvalidInputError) as caught:
        make_query(**values)  # type: ignore[arg-type]
    assert caught.value.param == param


def posting(i: int) -> Posting:
    return Posting(
        id=f"txn_{i}",
        account_id="acc_1",
        user_id="u",
        seq=i,
        type="usage",
        amount_micros=-1,
        balance_after_micros=-i,
        reference=f"usage:{i}",
        description="",
        metadata={},
        created_at=NOW,
    )


def test_page_has_a_cursor_only_when_more_rows_exist() -> None:
    full = page_of([posting(3), posting(2), posting(1)], 2)
    assert [p.id for p in full.items] == ["txn_3", "txn_2"]
    assert full.next_cursor is not None
    assert decode_cursor(full.next_cursor) == Position(NOW, "txn_2")
    assert page_of([posting(1)], 2).next_cursor is None
