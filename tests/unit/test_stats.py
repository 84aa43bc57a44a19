"""The one summary of a sample that the soak and the call benchmark write into bench/."""

from fourteenplus_dev.stats import spread


def test_spread_gives_percentiles():
    assert spread([]) == {"n": 0}
    assert spread([float(v) for v in range(1, 101)]) == {"n": 100, "p50": 50.5, "p95": 95.0, "max": 100.0}
