"""How the benchmarks and the soak summarise a latency (or any sample) for bench/*.md."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def spread(values: Sequence[float]) -> dict:
    """Count, median, 95th percentile and maximum, to 0.1 (only the count when empty)."""
    if not values:
        return {"n": 0}
    return {"n": len(values), "p50": round(float(np.percentile(values, 50)), 1),
            "p95": round(float(np.percentile(values, 95)), 1), "max": round(float(max(values)), 1)}
