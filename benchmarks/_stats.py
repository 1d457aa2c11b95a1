"""Summary statistics shared by the benchmark scripts (median and spread of several runs)."""

from __future__ import annotations

import statistics


def stats(values: list[float]) -> dict[str, float]:
    values = sorted(values)
    if not values:
        return {"median": float("nan"), "runs": 0}
    p95 = values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]
    return {"median": statistics.median(values), "p95": p95, "min": values[0], "max": values[-1],
            "stdev": statistics.pstdev(values) if len(values) > 1 else 0.0, "runs": len(values)}
