"""Latency histograms: fixed millisecond buckets, and the percentiles read back from summed bucket counts."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping

# Upper bounds (ms, included) of buckets 0..n-1; bucket n holds everything slower. Roughly 25 % apart below
# 1 s and wider above, so a percentile read from them is within one bucket's width of the exact one.
BOUNDS_MS: tuple[int, ...] = (
    *(5, 10, 20, 30, 40, 50, 75, 100, 125, 150, 200, 250, 300, 400, 500, 600, 750, 1000),
    *(1250, 1500, 2000, 2500, 3000, 4000, 5000, 7500, 10_000, 15_000, 20_000, 30_000, 45_000, 60_000, 120_000),
)
OVERFLOW = len(BOUNDS_MS)


def bucket_of(latency_ms: int) -> int:
    """The bucket a latency falls in: the first whose upper bound is at least the latency."""
    return bisect_left(BOUNDS_MS, latency_ms)


def percentile(counts: Mapping[int, int], fraction: float) -> int | None:
    """The latency below which ``fraction`` of the counted requests fall, interpolated inside its bucket.

    ``None`` without requests. The overflow bucket answers its lower bound (nothing bounds it above).
    """
    total = sum(counts.values())
    if total == 0:
        return None
    rank = fraction * total
    seen = 0
    for bucket in sorted(counts):
        count = counts[bucket]
        if count and seen + count >= rank:
            low = BOUNDS_MS[bucket - 1] if bucket > 0 else 0
            if bucket >= OVERFLOW:
                return BOUNDS_MS[-1]
            high = BOUNDS_MS[bucket]
            return round(low + (high - low) * (rank - seen) / count)
        seen += count
    return BOUNDS_MS[-1]
