"""How the benchmarks and the soak summarise a latency (or any sample), and a recognition's
stages, for bench/*.md."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def spread(values: Sequence[float]) -> dict:
    """Count, median, 95th percentile and maximum, to 0.1 (only the count when empty)."""
    if not values:
        return {"n": 0}
    return {"n": len(values), "p50": round(float(np.percentile(values, 50)), 1),
            "p95": round(float(np.percentile(values, 95)), 1), "max": round(float(max(values)), 1)}


def stages(results) -> dict:
    """Where a recognition's compute goes: each stage's p50 and p95 in ms (the recogniser's
    own timings: vad, encode, transcribe, prompted, score, total; queued in the service)."""
    by_stage: dict[str, list[float]] = {}
    for result in results:
        for stage, ms in result.timings.items():
            by_stage.setdefault(stage.removesuffix("_ms"), []).append(ms)
    return {stage: {"p50": round(float(np.percentile(values, 50)), 1), "p95": round(float(np.percentile(values, 95)), 1)}
            for stage, values in sorted(by_stage.items())}
