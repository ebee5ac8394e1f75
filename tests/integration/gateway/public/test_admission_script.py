"""The admission and settlement scripts on a real Redis: all-or-nothing, holds, expiry, settling, NOSCRIPT."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from tollway.gateway.admission import RedisAdmission
from tollway.gateway.domain.admission import AdmissionPlan, Outcome
from tollway.gateway.domain.ratelimits import Kind, Window
from tollway.gateway.domain.rejections import ServiceUnavailableError
from tollway.platform.redis import RedisKeys
from tollway.testing.processes import free_port

RPM = Window(scope="key:k1", name="rpm", kind=Kind.REQUESTS, limit=100, period_ms=60_000, cost=1)
TIGHT = Window(scope="user", name="rpm", kind=Kind.REQUESTS, limit=1, period_ms=60_000, cost=1)
TPM = Window(scope="user", name="tpm", kind=Kind.TOKENS, limit=1000, period_ms=60_000, cost=400)


def admission(redis: Redis, prefix: str, **options: object) -> RedisAdmission:
    defaults: dict[str, object] = {"hold_ttl_ms": 60_000, "settle_ms": 30_000, "timeout_s": 1.0, "fail_open": False}
    return RedisAdmission(redis, RedisKeys("gateway", prefix), **{**defaults, **options})  # type: ignore[arg-type]


def plan(request_id: str, *windows: Window, hold: int | None = None, balance: int = 0) -> AdmissionPlan:
    return AdmissionPlan(
        request_id=request_id,
        account="usr_1",
        windows=windows,
        hold_micros=hold,
        balance_micros=balance,
        reserved_tokens=400,
    )


async def total_held(redis: Redis, prefix: str) -> int:
    return int(await redis.hget(f"{prefix}:gateway:hold:{{usr_1}}", "~total") or 0)


async def test_a_refused_window_charges_no_other_window(redis_client: Redis, redis_prefix: str) -> None:
    gate = admission(redis_client, redis_prefix)
    first = await gate.admit(plan("r1", RPM, TIGHT))
    second = await gate.admit(plan("r2", RPM, TIGHT))
    third = await gate.admit(plan("r3", RPM))

    assert first.outcome is Outcome.ADMITTED
    assert [s.remaining for s in first.states] == [99, 0]
    assert (second.outcome, second.blocking) == (Outcome.RATE_LIMITED, 1)
    assert 59_000 < second.retry_after_ms <= 60_000
    assert second.states[0].remaining == 99  # untouched by the refused call
    assert third.states[0].remaining == 98


async def test_the_credit_hold_counts_until_settled_and_then_the_cost_counts(
    redis_client: Redis, redis_prefix: str
) -> None:
    gate = admission(redis_client, redis_prefix)
    held = await gate.admit(plan("r1", TPM, hold=600, balance=1000))
    refused = await gate.admit(plan("r2", TPM, hold=600, balance=1000))
    await gate.settle(plan("r1", TPM, hold=600), cost_micros=150, token_delta=-300)
    after = await gate.admit(plan("r3", TPM, hold=600, balance=1000))

    assert (held.outcome, held.available_micros) == (Outcome.ADMITTED, 1000)
    assert (refused.outcome, refused.available_micros) == (Outcome.NO_CREDIT, 400)
    assert refused.states[0].remaining == 600  # a 402 charges no token window either
    assert (after.outcome, after.available_micros) == (Outcome.ADMITTED, 850)
    assert after.states[0].remaining == 1000 - 100 - 400  # r1 now counts its 100 tokens, not the 400 reserved
    assert await total_held(redis_client, redis_prefix) == 150 + 600


async def test_holds_of_a_crashed_gateway_expire(redis_client: Redis, redis_prefix: str) -> None:
    gate = admission(redis_client, redis_prefix, hold_ttl_ms=100)
    assert (await gate.admit(plan("r1", hold=900, balance=1000))).outcome is Outcome.ADMITTED
    assert (await gate.admit(plan("r2", hold=900, balance=1000))).outcome is Outcome.NO_CREDIT
    await asyncio.sleep(0.15)  # r1 is never settled: its gateway "crashed"
    assert (await gate.admit(plan("r3", hold=900, balance=1000))).outcome is Outcome.ADMITTED
    assert await total_held(redis_client, redis_prefix) == 900


async def test_settled_costs_stay_counted_for_the_settle_window_only(redis_client: Redis, redis_prefix: str) -> None:
    gate = admission(redis_client, redis_prefix, settle_ms=100)
    await gate.admit(plan("r1", hold=500, balance=1000))
    await gate.settle(plan("r1", hold=500), cost_micros=300, token_delta=None)
    soon = await gate.admit(plan("r2", hold=0, balance=1000))
    await asyncio.sleep(0.15)
    later = await gate.admit(plan("r3", hold=0, balance=1000))

    assert (soon.available_micros, later.available_micros) == (700, 1000)


async def test_one_request_larger_than_a_window_is_refused_for_good(redis_client: Redis, redis_prefix: str) -> None:
    huge = Window(scope="user", name="tpm", kind=Kind.TOKENS, limit=1000, period_ms=60_000, cost=5000)
    decision = await admission(redis_client, redis_prefix).admit(plan("r1", RPM, huge))
    assert (decision.outcome, decision.blocking) == (Outcome.TOO_LARGE, 1)


async def test_scripts_reload_after_script_flush(redis_client: Redis, redis_prefix: str) -> None:
    gate = admission(redis_client, redis_prefix)
    assert (await gate.admit(plan("r1", RPM))).outcome is Outcome.ADMITTED
    await redis_client.script_flush()
    assert (await gate.admit(plan("r2", RPM))).states[0].remaining == 98
    await redis_client.script_flush()
    await gate.settle(plan("r2", RPM, hold=10), cost_micros=0, token_delta=None)
    assert await redis_client.script_exists(gate._admit.sha, gate._settle.sha) == [False, True]  # reloaded on use


async def test_redis_down_is_fail_closed_by_default_and_can_fail_open() -> None:
    down = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0")
    try:
        with pytest.raises(ServiceUnavailableError):
            await admission(down, "x").admit(plan("r1", RPM, hold=10, balance=100))
        open_gate = admission(down, "x", fail_open=True)
        admitted = await open_gate.admit(plan("r2", RPM, hold=10, balance=100))
        broke = await open_gate.admit(plan("r3", RPM, hold=1000, balance=100))
    finally:
        await down.aclose()
    assert (admitted.outcome, admitted.degraded, admitted.states) == (Outcome.ADMITTED, True, ())
    assert broke.outcome is Outcome.NO_CREDIT  # failing open still checks this request against the balance
