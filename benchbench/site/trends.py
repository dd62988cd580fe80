"""A model's metrics over commits: one series per configuration (device, size, batch, dtype), each point a run,
with the p50's 95% CI and the gate's own regression verdict against the run before it.

A point is marked as a regression exactly when `benchbench gate --baseline PREVIOUS` would fail it: its median
is more than `max_regression_pct` above the previous run's and the Mann-Whitney test on the two runs' raw
samples is significant (`benchbench.ci.gate.regressed`). Points without raw samples (runs recorded before
history schema 3) are shown but not judged.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from benchbench.ci.gate import regressed
from benchbench.core.stats import DEFAULT_ALPHA, compare_samples
from benchbench.site.data import ProfileRow, RunRow, SiteData

DEFAULT_MAX_REGRESSION_PCT = 10.0  # the gate's default threshold


@dataclass
class Point:
    """One run of one configuration."""

    run: RunRow
    profile: ProfileRow
    regression: str | None = None  # why the gate would fail it against the previous point, else None


@dataclass
class Series:
    """The runs of one model configuration, oldest first."""

    model: str
    device: str
    size: str
    batch_size: int
    dtype: str
    points: list[Point] = field(default_factory=list)

    @property
    def label(self) -> str:
        """'cpu · tiny · bs1 · float32'."""
        return f"{self.device} · {self.size} · bs{self.batch_size} · {self.dtype}"

    @property
    def regressions(self) -> list[Point]:
        """The points the gate would fail against the run before them."""
        return [p for p in self.points if p.regression]


def model_series(
    data: SiteData, max_regression_pct: float = DEFAULT_MAX_REGRESSION_PCT, alpha: float = DEFAULT_ALPHA
) -> dict[str, list[Series]]:
    """Every model's series, by model name; points in run order, regressions marked."""
    by_key: dict[tuple, Series] = {}
    for p in data.profiles:
        run = data.runs.get(p.run_id)
        if run is None:
            continue
        key = (p.model, *p.config)
        if key not in by_key:
            by_key[key] = Series(p.model, p.device, p.size, p.batch_size, p.dtype)
        by_key[key].points.append(Point(run, p))
    out: dict[str, list[Series]] = {}
    for s in by_key.values():
        s.points.sort(key=lambda pt: (pt.run.created_at, pt.run.run_id))
        mark_regressions(s, max_regression_pct, alpha)
        out.setdefault(s.model, []).append(s)
    return {m: sorted(ss, key=lambda s: s.label) for m, ss in sorted(out.items())}


def mark_regressions(series: Series, max_regression_pct: float, alpha: float = DEFAULT_ALPHA) -> None:
    """Judge each point against the previous one with samples, as the gate judges a run against its baseline."""
    previous = None
    for point in series.points:
        samples = point.profile.samples
        if not samples or len(samples) < 3:
            continue
        if previous is not None and _median_ratio(previous, samples) > 1 + max_regression_pct / 100:
            # only a median over the threshold can fail; the full test runs only then
            comp = compare_samples(previous, samples)
            if regressed(comp, max_regression_pct, alpha):
                point.regression = (
                    f"p50 ×{comp.ratio:.3g} vs the previous run (Mann-Whitney p={comp.p_value:.2g})"
                )
        previous = samples


def _median_ratio(old: list[float], new: list[float]) -> float:
    base = statistics.median(old)
    return statistics.median(new) / base if base > 0 else float("inf")
