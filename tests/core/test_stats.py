"""The statistics module against scipy and against simulation: the Mann-Whitney U test, the median's
order-statistic CI, CV and outliers, and ratios with their CIs (calibration checked on fixed seeds, with
margins of 4 standard errors, so these tests are deterministic).

Significance: the Mann-Whitney U test matches scipy; real slow-downs are flagged, noise is not.

False-alarm rate (measured here over 200 seeds, 40 samples a side, 5% normal noise, alpha = 0.01):
the test alone flags about alpha of identical pairs; the gate, which also needs the median over
+10%, flags none. The bound asserted for the test alone is 4% (P(>= 8 of 200 | p = 0.01) < 0.001).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats

from benchbench.core.stats import (
    DEFAULT_ALPHA,
    bootstrap_ratio_ci,
    compare_samples,
    cv,
    fmt_ratio,
    mann_whitney_u,
    median_ci,
    median_ci_ranks,
    paired_ratio,
    ratio_verdict,
    tukey_outliers,
)

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


# ---- the median's CI, spread, outliers and ratios ---------------------------------------------------------


@pytest.mark.parametrize("n", [*range(1, 60), 99, 100, 257, 999, 1000])
def test_median_ci_ranks_are_the_exact_binomial_ones(n: int) -> None:
    """Coverage 1 - 2 P(B <= lo) with B ~ Bin(n, 1/2); >= 95% from n = 6, and one step narrower would not be."""
    lo, hi, coverage = median_ci_ranks(n)
    assert hi == n - 1 - lo
    assert coverage == pytest.approx(1 - 2 * scipy.stats.binom.cdf(lo, n, 0.5))
    if n >= 6:
        assert coverage >= 0.95
        if lo + 1 < hi - 1:
            assert 1 - 2 * scipy.stats.binom.cdf(lo + 1, n, 0.5) < 0.95
    else:
        assert (lo, hi) == (0, n - 1)  # [min, max]: the widest there is, and still under 95%


@pytest.mark.parametrize("n", [1001, 2000, 10_000, 100_000])
def test_median_ci_ranks_for_many_samples_follow_the_normal_approximation(n: int) -> None:
    lo, _, coverage = median_ci_ranks(n)
    exact = 1 - 2 * scipy.stats.binom.cdf(lo, n, 0.5)
    assert exact >= 0.945 and coverage == pytest.approx(exact, abs=0.005)


def test_median_ci_is_calibrated_on_skewed_samples() -> None:
    """1000 lognormal samples of 40: the fraction of CIs holding the true median is the exact coverage
    (0.9615 at n = 40) within 4 standard errors (0.024)."""
    rng = np.random.default_rng(7)
    true_median = 1.0  # exp(0) for lognormal(0, 1)
    hits = 0
    for _ in range(1000):
        lo, hi = median_ci(rng.lognormal(0.0, 1.0, 40).tolist())
        hits += lo <= true_median <= hi
    expected = median_ci_ranks(40)[2]
    assert abs(hits / 1000 - expected) < 4 * math.sqrt(expected * (1 - expected) / 1000)


def test_cv_and_tukey_outliers_match_numpy() -> None:
    rng = np.random.default_rng(3)
    x = sorted([*rng.normal(10, 1, 200).tolist(), 30.0, 31.0, -5.0])
    q1, q3 = np.percentile(x, [25, 75])
    fence_lo, fence_hi = q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1)
    assert tukey_outliers(x) == int(np.sum((np.array(x) < fence_lo) | (np.array(x) > fence_hi))) >= 3
    assert cv(x) == pytest.approx(np.std(x, ddof=1) / np.mean(x))
    assert cv([1.0]) is None and tukey_outliers([1.0, 2.0]) == 0


def test_paired_ratio_finds_a_real_difference_through_drift() -> None:
    rng = np.random.default_rng(11)
    drift = rng.uniform(1, 3, 20)  # the machine's speed, shared by both arms of a round
    a = (drift * rng.normal(1.0, 0.02, 20)).tolist()
    b = (2 * drift * rng.normal(1.0, 0.02, 20)).tolist()
    r = paired_ratio(b, a)
    assert r.lo <= r.value <= r.hi and r.lo > 1.9 and r.hi < 2.1 and r.significant and r.n == 20
    same = paired_ratio(a, a)
    assert (same.value, same.lo, same.hi, same.significant) == (1.0, 1.0, 1.0, False)  # a point at 1


def test_paired_ratio_is_calibrated_for_identical_arms() -> None:
    """500 A/A comparisons of 12 rounds with drift and 10% noise: the CI holds 1 as often as its exact
    coverage says (0.9614 at n = 12), within 4 standard errors."""
    rng = np.random.default_rng(5)
    hits = 0
    for _ in range(500):
        drift = rng.uniform(1, 5, 12)
        r = paired_ratio(
            (drift * rng.lognormal(0, 0.1, 12)).tolist(), (drift * rng.lognormal(0, 0.1, 12)).tolist()
        )
        hits += not r.significant
    expected = median_ci_ranks(12)[2]
    assert abs(hits / 500 - expected) < 4 * math.sqrt(expected * (1 - expected) / 500)


def test_bootstrap_ratio_ci_of_two_medians() -> None:
    rng = np.random.default_rng(2)
    base, new = rng.normal(10, 0.5, 60).tolist(), rng.normal(12, 0.6, 60).tolist()
    r = bootstrap_ratio_ci(new, base)
    assert r.value == pytest.approx(np.median(new) / np.median(base))
    assert 1.0 < r.lo < 1.2 < r.hi and r.significant
    c = compare_samples(base, new)
    assert c.ratio_ci95 == r.ci95 and c.ratio == pytest.approx(r.value)


def test_ratio_words() -> None:
    assert ratio_verdict([0.9, 1.1]) == "no significant difference"
    assert ratio_verdict([1.1, 1.3], above="slower") == "slower"
    assert ratio_verdict([0.5, 0.8], below="faster") == "faster"
    assert fmt_ratio(1.02, [0.97, 1.08]) == "1.02 [0.97, 1.08] n.s."
    assert fmt_ratio(2.0, [1.9, 2.1], ".2f", "×") == "2.00× [1.90, 2.10]"
    assert fmt_ratio(None, None) == "—"
