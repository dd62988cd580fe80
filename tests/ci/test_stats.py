"""Significance: the Mann-Whitney U test matches scipy; real slow-downs are flagged, noise is not.

False-alarm rate (measured here over 200 seeds, 40 samples a side, 5% normal noise, alpha = 0.01):
the test alone flags about alpha of identical pairs; the gate, which also needs the median over
+10%, flags none. The bound asserted for the test alone is 4% (P(>= 8 of 200 | p = 0.01) < 0.001).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats

from benchbench.ci.stats import DEFAULT_ALPHA, compare_samples, mann_whitney_u

SEEDS = range(200)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("shift", [0.0, 0.3, 1.0])
def test_matches_scipy(seed: int, shift: float) -> None:
    rng = np.random.default_rng(seed)
    a = rng.normal(10, 1, 30).round(1)  # rounding makes ties
    b = rng.normal(10 + shift, 1, 25).round(1)
    u, p = mann_whitney_u(a, b)
    ref = scipy.stats.mannwhitneyu(a, b, alternative="two-sided", method="asymptotic")
    assert u == pytest.approx(ref.statistic)
    assert p == pytest.approx(ref.pvalue, rel=1e-9)


def test_identical_samples_are_not_significant() -> None:
    assert mann_whitney_u([1.0] * 10, [1.0] * 10)[1] == 1.0


def _samples(rng: np.random.Generator, median: float, noise: float, n: int = 40) -> list[float]:
    return rng.normal(median, noise * median, n).tolist()


def test_twenty_percent_slower_with_two_percent_noise_is_flagged() -> None:
    flagged = 0
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        c = compare_samples(_samples(rng, 10.0, 0.02), _samples(rng, 12.0, 0.02))
        flagged += c.significant(DEFAULT_ALPHA) and c.ratio > 1.10
    assert flagged == len(SEEDS)


def test_same_distribution_with_five_percent_noise_rarely_alarms() -> None:
    sig_only = gate_alarms = 0
    for seed in SEEDS:
        rng = np.random.default_rng(1000 + seed)
        c = compare_samples(_samples(rng, 10.0, 0.05), _samples(rng, 10.0, 0.05))
        sig_only += c.significant(DEFAULT_ALPHA)
        gate_alarms += c.significant(DEFAULT_ALPHA) and c.ratio > 1.10
    rate = sig_only / len(SEEDS)
    print(
        f"false-alarm rate: test alone {rate:.3f} (alpha {DEFAULT_ALPHA}), gate {gate_alarms / len(SEEDS):.3f}"
    )
    assert rate <= 0.04
    assert gate_alarms == 0
