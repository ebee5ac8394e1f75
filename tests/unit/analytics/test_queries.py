"""Query validation before any SQL: day ranges, page sizes, cursors, parameter parsing, money strings."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tollway.analytics.api.params import parsed
from tollway.analytics.api.schemas import AdminUsageQueryIn, RequestsQueryIn, UsageQueryIn
from tollway.analytics.domain.money import usd
from tollway.analytics.domain.queries import (
    MAX_RANGE_DAYS,
    Cursor,
    InvalidQueryError,
    decode_cursor,
    encode_cursor,
    period,
)

TODAY = date(2026, 3, 31)


def test_default_period_is_the_last_seven_days_including_today() -> None:
    days = period(None, None, TODAY)
    assert (days.first, days.last) == (date(2026, 3, 25), TODAY)
    assert days.start == datetime(2026, 3, 25, tzinfo=UTC)
    assert days.end == datetime(2026, 4, 1, tzinfo=UTC)


def test_only_to_gives_seven_days_ending_there_and_only_from_runs_to_today() -> None:
    assert period(None, date(2026, 1, 10), TODAY).first == date(2026, 1, 4)
    assert period(date(2026, 3, 1), None, TODAY).last == TODAY


def test_93_days_are_allowed_and_94_are_not() -> None:
    assert period(date(2026, 1, 1), date(2026, 4, 3), TODAY).first == date(2026, 1, 1)
    with pytest.raises(InvalidQueryError) as raised:
        period(date(2026, 1, 1), date(2026, 4, 4), TODAY)
    assert raised.value.param == "to"
    assert str(MAX_RANGE_DAYS) in raised.value.message


def test_a_reversed_range_is_rejected() -> None:
    with pytest.raises(InvalidQueryError) as raised:
        period(date(2026, 3, 2), date(2026, 3, 1), TODAY)
    assert raised.value.param == "from"


def test_cursor_round_trips_and_garbage_is_rejected() -> None:
    cursor = Cursor(datetime(2026, 3, 1, 10, 0, 0, 123456, tzinfo=UTC), "req-1")
    assert decode_cursor(encode_cursor(cursor)) == cursor
    for garbage in ("nope", "", "!!!!", encode_cursor(cursor)[:-3]):
        with pytest.raises(InvalidQueryError) as raised:
            decode_cursor(garbage)
        assert raised.value.param == "cursor"


def test_query_strings_become_typed_structs() -> None:
    query = parsed(UsageQueryIn, {"from": "2026-03-01", "to": "2026-03-02", "is_fallback": "true", "model": ""})
    assert query == UsageQueryIn(from_=date(2026, 3, 1), to=date(2026, 3, 2), is_fallback=True)
    assert parsed(AdminUsageQueryIn, {"user_id": "u1", "group_by": "day"}).group_by == "day"
    assert parsed(RequestsQueryIn, {}).limit == 50


@pytest.mark.parametrize(
    ("query_type", "values", "param"),
    [
        (UsageQueryIn, {"from": "2026-02-30"}, "from"),
        (UsageQueryIn, {"to": "yesterday"}, "to"),
        (UsageQueryIn, {"is_fallback": "maybe"}, "is_fallback"),
        (UsageQueryIn, {"group_by": "week"}, "group_by"),
        (RequestsQueryIn, {"limit": "101"}, "limit"),
        (RequestsQueryIn, {"limit": "0"}, "limit"),
        (RequestsQueryIn, {"limit": "ten"}, "limit"),
    ],
)
def test_bad_values_name_their_parameter(query_type: type, values: dict[str, str | None], param: str) -> None:
    with pytest.raises(InvalidQueryError) as raised:
        parsed(query_type, values)
    assert raised.value.param == param
    assert f"`{param}`" in raised.value.message


def test_usd_is_exact_to_the_micro_dollar() -> None:
    assert usd(0) == "0.000000"
    assert usd(1) == "0.000001"
    assert usd(1_234_567) == "1.234567"
    assert usd(9_007_199_254_740_993) == "9007199254.740993"  # beyond float precision, still exact
