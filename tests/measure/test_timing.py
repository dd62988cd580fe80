import itertools
import math
import time

import numpy as np
import pytest

from benchbench.core.stats import percentile
from benchbench.measure.records import STOP_REASONS, LatencyStats
from benchbench.measure.timing import TimingConfig, measure, sample


@pytest.mark.parametrize("q", [0, 10, 50, 90, 99, 100])
def test_percentile_matches_numpy(q):
    values = sorted(np.random.default_rng(q).exponential(size=37).tolist())
    assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))


def test_stats_from_samples():
    s = LatencyStats.from_samples([4.0, 1.0, 3.0, 2.0], batch_size=8)
    assert (s.n, s.min_ms, s.max_ms, s.p50_ms, s.mean_ms) == (4, 1.0, 4.0, 2.5, 2.5)
    assert s.throughput_per_s == pytest.approx(8 * 1000 / 2.5)
    assert s.samples_ms == [4.0, 1.0, 3.0, 2.0]  # raw order kept for significance tests
    assert s.p50_ms <= s.p90_ms <= s.p99_ms <= s.max_ms


def test_measure_respects_counts_and_warmup():
    calls = []
    stats = measure(
        lambda: calls.append(1), config=TimingConfig(warmup=4, min_repeats=7, max_repeats=7, min_time_s=0)
    )
    assert stats.n == 7 and len(calls) == 11


def test_measure_runs_until_min_time():
    stats = measure(lambda: time.sleep(0.002), config=TimingConfig(warmup=0, min_repeats=1, min_time_s=0.05))
    assert stats.n >= 5  # 50 ms of 2 ms calls, allowing for scheduler slack
    assert stats.min_ms >= 1.9  # a 2 ms sleep never measures shorter


def test_measure_sees_work_size():
    """A sleep of 6 ms measures about three times a sleep of 2 ms: the timer measures the call, not overhead."""
    cfg = TimingConfig(warmup=1, min_repeats=5, min_time_s=0)
    short = measure(lambda: time.sleep(0.002), config=cfg).p50_ms
    long = measure(lambda: time.sleep(0.006), config=cfg).p50_ms
    assert 2.0 < long / short < 4.0


def test_bad_config_is_rejected():
    with pytest.raises(ValueError, match="min_repeats"):
        TimingConfig(min_repeats=5, max_repeats=2)


def test_empty_samples_rejected():
    with pytest.raises(ValueError):
        LatencyStats.from_samples([])
    assert not math.isnan(LatencyStats.from_samples([1.0]).stdev_ms)


def _fake_timer(values):
    it = iter(values)
    return lambda: next(it)


def test_adaptive_effort_stops_once_the_ci_is_narrow():
    """Identical samples: the CI is a point, so the first check (at max(min_repeats, 6)) stops it."""
    cfg = TimingConfig(warmup=0, min_repeats=8, max_repeats=1000, min_time_s=0.0, max_time_s=60.0)
    samples, reason, _ = sample(_fake_timer(itertools.repeat(1.0)), cfg)
    assert (len(samples), reason) == (8, "ci_target")


def test_adaptive_effort_stops_at_the_repeat_cap_when_the_ci_stays_wide():
    rng = np.random.default_rng(0)
    spread = (float(x) for x in rng.lognormal(0.0, 2.0, 10_000))  # far too spread for a 5% CI in 200 samples
    cfg = TimingConfig(warmup=0, min_repeats=6, max_repeats=200, min_time_s=0.0, max_time_s=60.0)
    samples, reason, _ = sample(_fake_timer(spread), cfg)
    assert (len(samples), reason) == (200, "max_repeats")


def test_adaptive_effort_stops_at_the_time_cap():
    rng = np.random.default_rng(1)
    cfg = TimingConfig(warmup=0, min_repeats=6, max_repeats=10**9, min_time_s=0.0, max_time_s=0.05)

    def slow_and_spread() -> float:
        time.sleep(0.001)
        return float(rng.lognormal(0.0, 2.0))

    samples, reason, elapsed = sample(slow_and_spread, cfg)
    assert reason == "time_cap" and elapsed >= 0.05 and len(samples) >= 6


def test_no_target_means_the_floors_alone():
    cfg = TimingConfig(warmup=0, min_repeats=7, max_repeats=100, min_time_s=0.0, target_ci=None)
    samples, reason, _ = sample(_fake_timer(itertools.count(1.0)), cfg)
    assert (len(samples), reason) == (7, "min_effort")


def test_measure_records_its_uncertainty():
    stats = measure(lambda: sum(range(200)), config=TimingConfig(warmup=2, min_repeats=20, min_time_s=0.01))
    lo, hi = stats.ci95_ms
    assert lo <= stats.p50_ms <= hi and stats.cv > 0 and stats.outliers >= 0
    assert stats.stop_reason in STOP_REASONS and stats.elapsed_s > 0
    assert stats.ci95_rel_width == pytest.approx((hi - lo) / stats.p50_ms)
    assert "95% CI" in stats.uncertainty() and stats.stop_reason in stats.uncertainty()


@pytest.mark.parametrize("kw, match", [({"min_time_s": 1.0, "max_time_s": 0.5}, "min_time_s"),
                                       ({"target_ci": 0.0}, "target_ci"), ({"budget_s": 0.0}, "need budget_s > 0"),
                                       ({"budget_min_repeats": 0}, "budget_min_repeats >= 1")])  # fmt: skip
def test_bad_caps_are_rejected(kw, match):
    with pytest.raises(ValueError, match=match):
        TimingConfig(**kw)


def test_unknown_stop_reason_is_rejected():
    with pytest.raises(ValueError, match="stop reason"):
        LatencyStats.from_samples([1.0, 2.0], stop_reason="bored")


def test_the_budget_cuts_the_floors_for_long_calls():
    """Calls too long for the floors within the budget: one warm-up call, then the minimum sample count, stopped
    by the budget and saying so; the CI is still a 95% CI of the median (6 samples)."""
    calls = []

    def long_call():
        calls.append(1)
        time.sleep(0.01)

    cfg = TimingConfig(warmup=3, min_repeats=10, min_time_s=0.0, budget_s=0.05)  # warm-up share: 5 ms
    stats = measure(long_call, config=cfg)
    assert len(calls) == 1 + 6 and stats.n == 6 and stats.stop_reason == "time_budget"
    assert stats.ci95_ms[0] <= stats.p50_ms <= stats.ci95_ms[1]
    assert "stopped: time_budget, only 6 samples" in stats.uncertainty()


def test_the_budget_never_cuts_calls_that_meet_the_floors_within_it():
    calls = []
    cfg = TimingConfig(warmup=3, min_repeats=10, max_repeats=10, min_time_s=0.0, budget_s=0.05)
    stats = measure(lambda: calls.append(1), config=cfg)
    assert len(calls) == 3 + 10 and stats.stop_reason == "max_repeats"
    unbounded = TimingConfig(warmup=2, min_repeats=8, max_repeats=8, min_time_s=0.0, budget_s=None)
    samples, reason, _ = sample(lambda: time.sleep(0.002) or 2.0, unbounded, spent_s=1e9)
    assert (len(samples), reason) == (8, "max_repeats")


def test_the_budget_counts_the_warm_up():
    """A budget already spent by the warm-up stops at the minimum count at once."""
    cfg = TimingConfig(warmup=0, min_repeats=10, min_time_s=0.0, budget_s=1.0, budget_min_repeats=6)
    samples, reason, _ = sample(_fake_timer(itertools.repeat(5.0)), cfg, spent_s=2.0)
    assert (len(samples), reason) == (6, "time_budget")
    samples, reason, _ = sample(_fake_timer(itertools.repeat(5.0)), cfg, spent_s=0.0)
    assert (len(samples), reason) == (10, "ci_target")  # fake calls take no time: the budget is not reached
