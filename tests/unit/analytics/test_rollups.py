"""A batch of request records folds into one sorted counter delta per hourly rollup key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from tollway.analytics.domain.records import RequestRecord, distinct
from tollway.analytics.domain.rollups import COUNTER_FIELDS, Counters, RollupKey, aggregate, hour_of

T0 = datetime(2026, 3, 1, 10, 15, tzinfo=UTC)


def record(request_id: str, **fields: object) -> RequestRecord:
    values: dict[str, object] = {
        "request_id": request_id,
        "occurred_at": T0,
        "status": "ok",
        "user_id": "u1",
        "account_id": "a1",
        "api_key_id": "k1",
        "is_anonymous": False,
        "requested_model": "gpt",
        "provider": "openai",
        "prompt_tokens": 10,
        "completion_tokens": 5,
        "cost_micros": 1_000,
        "latency_ms": 100,
    }
    return RequestRecord(**{**values, **fields})  # type: ignore[arg-type]


def test_records_with_the_same_key_become_one_delta() -> None:
    deltas = aggregate([record("r1"), record("r2", ttft_ms=40), record("r3", status="cancelled", ttft_ms=60)])
    ((key, counters),) = deltas
    assert key == RollupKey("u1", datetime(2026, 3, 1, 10, tzinfo=UTC), "k1", "gpt", "openai", False)
    assert counters == Counters(
        requests=3,
        cancelled=1,
        prompt_tokens=30,
        completion_tokens=15,
        cost_micros=3_000,
        latency_ms_sum=300,
        ttft_ms_sum=100,
        ttft_count=2,
        # Generation time is the latency after the first token: 100 + (100 - 40) + (100 - 60).
        generation_tokens=15,
        generation_ms_sum=200,
    )


def test_each_dimension_splits_the_rollup() -> None:
    deltas = aggregate(
        [
            record("base"),
            record("hour", occurred_at=T0 + timedelta(hours=1)),
            record("user", user_id="u2"),
            record("key", api_key_id="k2"),
            record("model", requested_model="claude"),
            record("provider", provider="bedrock"),
            record("fallback", is_fallback=True),
        ]
    )
    assert len(deltas) == 7
    assert all(delta.counters.requests == 1 for delta in deltas)


def test_failed_and_anonymous_requests_use_the_empty_key_for_none() -> None:
    failed = record("f", status="failed", provider=None, prompt_tokens=0, completion_tokens=0, cost_micros=0)
    anonymous = record("a", user_id=None, api_key_id=None, is_anonymous=True)
    keys = {delta.key: delta.counters for delta in aggregate([failed, anonymous])}
    assert keys[RollupKey("u1", hour_of(T0), "k1", "gpt", "", False)].failures == 1
    assert keys[RollupKey("", hour_of(T0), "", "gpt", "openai", False)].requests == 1


def test_deltas_come_in_key_order_so_writers_lock_rows_alike() -> None:
    deltas = aggregate([record(str(i), user_id=f"u{i % 7}", requested_model=f"m{i % 3}") for i in range(50)])
    keys = [delta.key for delta in deltas]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)


def test_hour_of_is_the_utc_hour() -> None:
    paris = timezone(timedelta(hours=1))
    assert hour_of(datetime(2026, 3, 1, 0, 30, tzinfo=paris)) == datetime(2026, 2, 28, 23, tzinfo=UTC)
    naive = datetime(2026, 3, 1, 5, 59, 59, 999999)  # noqa: DTZ001 - an event without offset is read as UTC
    assert hour_of(naive) == datetime(2026, 3, 1, 5, tzinfo=UTC)


def test_distinct_keeps_the_first_record_of_each_id_sorted_by_id() -> None:
    records = [record("b", cost_micros=1), record("a"), record("b", cost_micros=2)]
    assert [(r.request_id, r.cost_micros) for r in distinct(records)] == [("a", 1_000), ("b", 1)]


@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 3), st.integers(0, 10**9)), max_size=60))
def test_deltas_sum_to_the_records(rows: list[tuple[int, int, int]]) -> None:
    records = [
        record(str(i), user_id=f"u{user}", occurred_at=T0 + timedelta(minutes=37 * hour), cost_micros=cost)
        for i, (user, hour, cost) in enumerate(rows)
    ]
    deltas = aggregate(records)
    assert sum(d.counters.cost_micros for d in deltas) == sum(r.cost_micros for r in records)
    assert sum(d.counters.requests for d in deltas) == len(records)
    assert set(COUNTER_FIELDS) >= {"requests", "failures", "cost_micros"}
