import math
import time

import numpy as np
import pytest

from benchbench.core.results import LatencyStats, percentile
from benchbench.measure.timing import TimingConfig, measure


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
