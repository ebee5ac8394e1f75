"""Measuring started targets: wrk per (mode, connections) with the CPU their trees spent, and the TTFT probe."""

from __future__ import annotations

import math
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from tests.bench import targets, ttft, wrk
from tests.bench.report import Idle, Row, TtftRow
from tests.bench.targets import Target
from tollway.testing import proctree


@dataclass(frozen=True)
class Plan:
    quick: bool
    modes: tuple[str, ...]
    connections: tuple[int, ...]
    repetitions: int
    warmup_s: float
    duration_s: float
    ttft_requests: int
    events: int
    workers: int
    idle_s: float  # the idle-stack window, after the traffic and a short drain


FULL = Plan(False, ("chat", "stream", "messages"), (1, 16, 64), 3, 2.0, 3.0, 200, 100_000, 1, 60.0)
# 16 connections, not 64, at saturation: 2 s is too short for a target answering in ~1 s at 64 connections.
QUICK = Plan(True, ("chat", "stream"), (1, 16), 1, 1.0, 2.0, 50, 10_000, 1, 10.0)


BEGAN = time.monotonic()


def say(message: str) -> None:
    """Progress on stdout, with the seconds since the bench started."""
    sys.stdout.write(f"bench [{time.monotonic() - BEGAN:6.1f}s] {message}\n")
    sys.stdout.flush()


def measure_all(plan: Plan, started: list[Target]) -> list[Row]:
    rows = []
    for mode in plan.modes:
        for target in started:
            if mode in target.modes:
                rows += measure_mode(plan, target, mode)
    return rows


def measure_mode(plan: Plan, target: Target, mode: str) -> list[Row]:
    problem = target.error or targets.smoke(target, mode)
    if problem:
        return [Row(target.name, mode, c, status="failed", reason=problem) for c in plan.connections]
    return [measure_config(plan, target, mode, connections) for connections in plan.connections]


def measure_config(plan: Plan, target: Target, mode: str, connections: int) -> Row:
    env = {"BENCH_MODEL": target.models[mode], "BENCH_AUTHORIZATION": target.authorization}
    load = wrk.Load(target.base_url, mode, connections, plan.duration_s, env)
    say(f"wrk {target.name} {mode} c{connections}")
    try:
        wrk.run(replace(load, duration_s=plan.warmup_s))
        reps = [repetition(target, load) for _ in range(plan.repetitions)]
    except wrk.WrkError as error:
        return Row(target.name, mode, connections, status="failed", reason=str(error))
    return aggregate(target.name, mode, connections, reps)


def repetition(target: Target, load: wrk.Load) -> dict[str, float]:
    """One measured wrk run with the CPU its target's process trees spent meanwhile."""
    stack = target.stack_roots() if target.stack_roots else []
    before, stack_before = proctree.cpu_seconds(target.cpu_roots()), proctree.cpu_seconds(stack)
    outcome = wrk.run(load)
    spent, stack_spent = proctree.cpu_seconds(target.cpu_roots()) - before, proctree.cpu_seconds(stack) - stack_before
    per_1k = 1000 / outcome.requests if outcome.requests else float("nan")
    return {
        "requests": outcome.requests,
        "rps": outcome.rps,
        "p50_ms": outcome.p50_ms,
        "p90_ms": outcome.p90_ms,
        "p99_ms": outcome.p99_ms,
        "max_ms": outcome.max_ms,
        "errors": outcome.errors,
        "cpu_s_per_1k": spent * per_1k,
        "stack_cpu_s_per_1k": stack_spent * per_1k if stack else float("nan"),
    }


def aggregate(name: str, mode: str, connections: int, reps: list[dict[str, float]]) -> Row:
    def median(key: str) -> float:
        return statistics.median(rep[key] for rep in reps)

    requests, errors = int(sum(r["requests"] for r in reps)), int(sum(r["errors"] for r in reps))
    stack_cpu = median("stack_cpu_s_per_1k")
    reason = failure(requests, errors)
    return Row(
        name,
        mode,
        connections,
        status="failed" if reason else "ok",
        reason=reason,
        requests=requests,
        rps=median("rps"),
        p50_ms=median("p50_ms"),
        p90_ms=median("p90_ms"),
        p99_ms=median("p99_ms"),
        errors=errors,
        cpu_s_per_1k=median("cpu_s_per_1k"),
        stack_cpu_s_per_1k=None if math.isnan(stack_cpu) else stack_cpu,
        repetitions=reps,
    )


def failure(requests: int, errors: int) -> str:
    """Why a configuration counts as failed: nothing completed, or most requests were errors."""
    if requests == 0:
        return f"no request completed within the run ({errors} errors)"
    return f"{errors} of {requests} requests failed" if errors * 2 > requests else ""


def probe_all(plan: Plan, started: list[Target]) -> list[TtftRow]:
    rows = []
    for target in started:
        if target.error:
            rows.append(TtftRow(target.name, status="failed", reason=target.error))
            continue
        say(f"TTFT probe {target.name}")
        url = target.base_url + "/v1/chat/completions"
        found = ttft.run(ttft.Probe(url, target.models["paced"], target.headers(), plan.ttft_requests))
        status = "ok" if found.samples else "failed"
        rows.append(
            TtftRow(
                target.name,
                status=status,
                reason="" if found.samples else f"{found.errors} errors, no sample",
                samples=found.samples,
                errors=found.errors,
                p50_ms=found.p50_ms,
                p90_ms=found.p90_ms,
                p99_ms=found.p99_ms,
                stream_p50_ms=found.total_p50_ms,
            )
        )
    return rows


def measure_idle(plan: Plan, started: list[Target]) -> Idle | None:
    """CPU of every process of the Tollway stack while nothing calls it, once it has caught up with the traffic."""
    tollway = next((t for t in started if t.name == "tollway" and not t.error and t.stack_roots), None)
    if tollway is None or tollway.stack_roots is None:
        return None
    drained_s = drain(tollway.stack_roots)
    say(f"idle stack ({plan.idle_s:.0f} s, after {drained_s:.0f} s of catching up)")
    before, began = proctree.cpu_seconds(tollway.stack_roots()), time.monotonic()
    time.sleep(plan.idle_s)
    spent = proctree.cpu_seconds(tollway.stack_roots()) - before
    return Idle(seconds=round(time.monotonic() - began, 1), cpu_s=round(spent, 3), drained_s=round(drained_s, 1))


def drain(roots: Callable[[], list[int]], window_s: float = 5.0, quiet: float = 0.1, limit_s: float = 180.0) -> float:
    """Seconds until a ``window_s`` in which the stack used under ``quiet`` of one core: its backlog is done."""
    began = time.monotonic()
    while time.monotonic() - began < limit_s:
        before = proctree.cpu_seconds(roots())
        time.sleep(window_s)
        if proctree.cpu_seconds(roots()) - before < quiet * window_s:
            break
    return time.monotonic() - began
