"""Time to first token: sequential streamed requests (aiohttp), timed from send to the first byte of the body."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp

REQUEST_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Probe:
    url: str
    model: str
    headers: Mapping[str, str]
    requests: int
    warmup: int = 10
    budget_s: float = 60.0


@dataclass(frozen=True)
class TtftResult:
    samples: int
    errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    total_p50_ms: float


def body(model: str) -> bytes:
    text = "Say hello to the benchmark."
    return (
        b'{"model":"%s","max_tokens":64,"stream":true,"stream_options":{"include_usage":true},'
        b'"messages":[{"role":"user","content":"%s"}]}' % (model.encode(), text.encode())
    )


async def one(session: aiohttp.ClientSession, probe: Probe, payload: bytes) -> tuple[float, float] | None:
    """(first body byte, whole response) in ms, or None when the answer was not a 200 stream."""
    started = time.perf_counter()
    async with session.post(probe.url, data=payload) as response:
        first = await response.content.readany()
        first_at = time.perf_counter()
        await response.read()
        done_at = time.perf_counter()
    if response.status != 200 or not first:
        return None
    return (first_at - started) * 1000, (done_at - started) * 1000


async def measure(probe: Probe) -> TtftResult:
    """``warmup`` untimed requests, then up to ``requests`` timed ones within ``budget_s``."""
    payload = body(probe.model)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    headers = {"content-type": "application/json", **probe.headers}
    first: list[float] = []
    total: list[float] = []
    errors = 0
    deadline = time.monotonic() + probe.budget_s
    async with aiohttp.ClientSession(timeout=timeout, headers=headers) as session:
        for index in range(probe.warmup + probe.requests):
            if time.monotonic() > deadline:
                break
            try:
                sample = await one(session, probe, payload)
            except (aiohttp.ClientError, TimeoutError):
                sample = None
            if index < probe.warmup:
                continue
            if sample is None:
                errors += 1
            else:
                first.append(sample[0])
                total.append(sample[1])
    return summarise(first, total, errors)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summarise(first: list[float], total: list[float], errors: int) -> TtftResult:
    return TtftResult(
        samples=len(first),
        errors=errors,
        p50_ms=percentile(first, 0.5),
        p90_ms=percentile(first, 0.9),
        p99_ms=percentile(first, 0.99),
        total_p50_ms=statistics.median(total) if total else float("nan"),
    )


def run(probe: Probe) -> TtftResult:
    return asyncio.run(measure(probe))
