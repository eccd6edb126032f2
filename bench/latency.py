"""Latency summaries shared by the benchmarks (not a benchmark itself: ``run_all`` runs ``bench_*.py``)."""

from __future__ import annotations

import statistics


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)

    def pct(p: float) -> float:
        # nearest-rank: the smallest sample with at least p% of the samples at or below it
        rank = max(int(-(-p * len(ordered) // 100)), 1)
        return round(ordered[rank - 1], 2)

    return {
        "n": len(ordered),
        "p50_ms": pct(50),
        "p95_ms": pct(95),
        "p99_ms": pct(99),
        "mean_ms": round(statistics.fmean(ordered), 2),
        "max_ms": round(ordered[-1], 2),
    }
