"""pytest plugin (entry point `pytest11`): the `latency_budget` marker fails a pytest-benchmark test over budget.

    @pytest.mark.latency_budget(p50_ms=5.0, p99_ms=12.0)
    def test_fast(benchmark): benchmark(fn)

Limits: p50_ms, p90_ms, p99_ms, mean_ms, max_ms (per call, from the benchmark's rounds).
"""

from __future__ import annotations

from typing import Any

import pytest

LIMITS = ("p50_ms", "p90_ms", "p99_ms", "mean_ms", "max_ms")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "latency_budget(p50_ms=, p90_ms=, p99_ms=, mean_ms=, max_ms=): fail the benchmark when over budget",
    )


def _percentile(data: list[float], q: float) -> float:
    xs = sorted(data)
    pos = (len(xs) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def measured_ms(stats: Any) -> dict[str, float]:
    """The budgeted statistics in ms from pytest-benchmark's Stats (seconds per call)."""
    data = list(getattr(stats, "data", None) or [])
    out = {"p50_ms": stats.median * 1e3, "mean_ms": stats.mean * 1e3, "max_ms": stats.max * 1e3}
    if data:
        out["p90_ms"] = _percentile(data, 90) * 1e3
        out["p99_ms"] = _percentile(data, 99) * 1e3
    return out


def over_budget(marker: pytest.Mark, stats: Any) -> list[str]:
    """Messages for every limit of `marker` the stats exceed; a bad marker raises a UsageError."""
    unknown = set(marker.kwargs) - set(LIMITS)
    if marker.args or unknown or not marker.kwargs:
        raise pytest.UsageError(
            f"latency_budget takes keyword limits only, allowed: {', '.join(LIMITS)}; "
            f"got args {marker.args!r} kwargs {sorted(marker.kwargs)!r}"
        )
    have = measured_ms(stats)
    return [
        f"{key} = {have[key]:.3f} ms exceeds budget {limit} ms"
        for key, limit in marker.kwargs.items()
        if key in have and have[key] > limit
    ]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    result = yield
    marker = item.get_closest_marker("latency_budget")
    bench = getattr(item, "funcargs", {}).get("benchmark") if marker else None
    meta = getattr(bench, "stats", None) if bench is not None else None
    stats = getattr(meta, "stats", None)
    if marker is not None and stats is not None and getattr(stats, "rounds", 0):
        problems = over_budget(marker, stats)
        if problems:
            pytest.fail("latency budget exceeded: " + "; ".join(problems), pytrace=False)
    return result
