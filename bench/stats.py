"""Small statistics helpers: percentiles of samples, in milliseconds."""
from __future__ import annotations

import math
import statistics
from collections.abc import Sequence


def percentile(samples: Sequence[float], p: float) -> float:
    """The p-th percentile (0-100), linear interpolation between closest ranks."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(samples: Sequence[float], digits: int = 3) -> dict[str, float]:
    """n, p50, p95, p99, mean, min, max of `samples`, rounded."""
    if not samples:
        return {"n": 0}
    return {
        "n": len(samples),
        "p50": round(percentile(samples, 50), digits),
        "p95": round(percentile(samples, 95), digits),
        "p99": round(percentile(samples, 99), digits),
        "mean": round(statistics.fmean(samples), digits),
        "min": round(min(samples), digits),
        "max": round(max(samples), digits),
    }


def shifted(s: dict[str, float], by: float, digits: int = 3) -> dict[str, float]:
    """A summary with `by` subtracted from every latency (not from n)."""
    return {k: (v if k == "n" else round(v - by, digits)) for k, v in s.items()}


def ratio(a: float, b: float, digits: int = 2) -> float | None:
    if not b or math.isnan(a) or math.isnan(b):
        return None
    return round(a / b, digits)
