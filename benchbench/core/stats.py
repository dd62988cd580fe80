"""The one statistics module: the median's confidence interval, spread and outliers of timing samples, ratios
with their confidence intervals, and the Mann-Whitney U test of the gate's baseline check.

Shared by the timing core (`measure.timing`), the interleaved A/B rounds (`measure.interleave`) and the gate
(`ci.gate`). Written with the standard library and numpy so that the runtime needs no scipy (importing
scipy.stats would add about half a second to every command); the tests compare each function with scipy.

- **Median CI** (`median_ci`): distribution-free, from order statistics. The number of samples below the
  true median is Binomial(n, 1/2), so [x_(k), x_(n+1-k)] covers it with probability 1 - 2·P(B ≤ k-1); k is
  the largest with that ≥ 95% (exact binomial up to n = 1000, the normal approximation beyond). Below
  n = 6 no pair of order statistics reaches 95%: the interval is then [min, max] (93.8% at n = 5).
- **Quantile CI** (`quantile_ci`): the same argument for any quantile q: the number of samples below the true
  q-quantile is Binomial(n, q), and the ranks are chosen so that each tail holds at most 2.5%. For a tail
  quantile the upper bound exists only once n is large enough: `min_samples_for_quantile_ci(0.99)` = 368, the
  smallest n with 0.99^n ≤ 2.5% (below it the upper bound is None: the sample cannot bound the p99 from above).
- **Outliers** (`tukey_outliers`): samples outside Tukey's fences [Q1 - 1.5·IQR, Q3 + 1.5·IQR].
- **CV**: sample standard deviation / mean.
- **Paired ratio** (`paired_ratio`): the median of per-round ratios a_i / b_i, with the order-statistic CI of
  that median. Rounds interleave the two sides (ABBA...), so drift in the machine's speed cancels in each pair.
- **Ratio of two independent medians** (`bootstrap_ratio_ci`): a percentile bootstrap, for samples that were
  not taken in pairs (a run against its baseline).
- **Mann-Whitney U** (`mann_whitney_u`): two-sided, normal approximation, tie- and continuity-corrected.
"""

from __future__ import annotations

import functools
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy is imported where it is used: `benchbench --help` needs this module without it
    import numpy as np

DEFAULT_ALPHA = 0.01  # the gate's significance level for the baseline check
CONFIDENCE = 0.95
_Z95 = 1.959963984540054  # the standard normal's 97.5% quantile
_EXACT_UP_TO = 1000


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default method) of an already sorted sequence."""
    if not sorted_values:
        raise ValueError("percentile of an empty list")
    pos = (len(sorted_values) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


# ---- the median's confidence interval ------------------------------------------------------------------


def _binom_half_pmf(i: int, n: int) -> float:
    """P(B = i) for B ~ Binomial(n, 1/2), in log space so that large n does not underflow."""
    return math.exp(math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) - n * math.log(2.0))


@functools.lru_cache(maxsize=4096)
def median_ci_ranks(n: int) -> tuple[int, int, float]:
    """0-based indices (lo, hi) into the sorted samples of the median's 95% CI, and the coverage it has."""
    if n < 1:
        raise ValueError("a confidence interval needs at least one sample")
    half_alpha = (1 - CONFIDENCE) / 2
    if n <= _EXACT_UP_TO:
        k, cdf = 1, _binom_half_pmf(0, n)  # k: 1-based rank of the lower bound; cdf = P(B <= k - 1)
        while k + 1 <= (n + 1) // 2:
            wider = cdf + _binom_half_pmf(k, n)  # P(B <= k): what moving the bounds inward would leave out
            if wider > half_alpha:
                break
            k, cdf = k + 1, wider
        coverage = 1 - 2 * cdf
    else:
        k = max(1, math.floor(n / 2 - _Z95 * math.sqrt(n) / 2 + 0.5))
        z = (k - 1 + 0.5 - n / 2) / (math.sqrt(n) / 2)
        coverage = 1 - math.erfc(-z / math.sqrt(2))  # 1 - 2·Φ(z), z < 0
    return k - 1, n - k, coverage


def median_ci(values: Sequence[float], *, presorted: bool = False) -> tuple[float, float]:
    """The distribution-free 95% confidence interval of the median of `values` (see the module doc)."""
    s = values if presorted else sorted(values)
    lo, hi, _ = median_ci_ranks(len(s))
    return float(s[lo]), float(s[hi])


def relative_width(lo: float, hi: float, centre: float) -> float:
    """(hi - lo) / centre: how wide an interval is relative to its estimate (inf when the centre is 0)."""
    return (hi - lo) / centre if centre > 0 else math.inf


def median_ci_relative_width(values: Sequence[float]) -> float:
    """The width of the median's 95% CI relative to the median, for `values` in any order."""
    s = sorted(values)
    lo, hi = median_ci(s, presorted=True)
    return relative_width(lo, hi, percentile(s, 50))


# ---- any quantile's confidence interval -----------------------------------------------------------------


def _binom_cdfs(n: int, q: float) -> list[float]:
    """[P(B <= k) for k in 0..n] for B ~ Binomial(n, q), each term in log space so that large n does not underflow."""
    lq, lp, lg = math.log(q), math.log1p(-q), math.lgamma(n + 1)
    total, out = 0.0, []
    for i in range(n + 1):
        total += math.exp(lg - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * lq + (n - i) * lp)
        out.append(min(1.0, total))
    return out


def min_samples_for_quantile_ci(q: float) -> int:
    """The fewest samples whose largest one is a 97.5% upper confidence bound of the q-quantile: 0.99 → 368."""
    if not 0 < q < 1:
        raise ValueError(f"quantile must be in (0, 1), got {q}")
    return math.ceil(math.log((1 - CONFIDENCE) / 2) / math.log(q))


@functools.lru_cache(maxsize=4096)
def quantile_ci_ranks(n: int, q: float) -> tuple[int | None, int | None]:
    """0-based indices (lo, hi) into n sorted samples bounding the q-quantile at 95% (2.5% each side);
    None where the sample is too small to bound that side."""
    if n < 1 or not 0 < q < 1:
        raise ValueError(f"need n >= 1 and 0 < q < 1, got n={n}, q={q}")
    half_alpha = (1 - CONFIDENCE) / 2
    cdf = _binom_cdfs(n, q)  # cdf[k] = P(B <= k), B the number of samples below the true quantile
    # lower: the largest 1-based rank l with P(B <= l-1) <= 2.5% (x_(l) lies below the quantile w.p. >= 97.5%)
    lows = [rank for rank in range(1, n + 1) if cdf[rank - 1] <= half_alpha]
    # upper: the smallest 1-based rank u with P(B <= u-1) >= 97.5% (x_(u) lies above it w.p. >= 97.5%)
    highs = [rank for rank in range(1, n + 1) if cdf[rank - 1] >= 1 - half_alpha]
    lo = lows[-1] - 1 if lows else None
    hi = highs[0] - 1 if highs else None
    return lo, hi


def quantile_ci(
    values: Sequence[float], q: float, *, presorted: bool = False
) -> tuple[float | None, float | None]:
    """The distribution-free 95% CI of the q-quantile (0 < q < 1) of `values`; a side is None where the
    sample is too small to bound it (see `min_samples_for_quantile_ci`)."""
    s = values if presorted else sorted(values)
    lo, hi = quantile_ci_ranks(len(s), q)
    return (float(s[lo]) if lo is not None else None), (float(s[hi]) if hi is not None else None)


# ---- spread --------------------------------------------------------------------------------------------


def cv(values: Sequence[float]) -> float | None:
    """Coefficient of variation: sample standard deviation / mean; None for fewer than 2 values or mean 0."""
    if len(values) < 2:
        return None
    mean = statistics.fmean(values)
    return statistics.stdev(values) / mean if mean > 0 else None


def tukey_outliers(sorted_values: Sequence[float]) -> int:
    """How many values lie outside Tukey's fences [Q1 - 1.5·IQR, Q3 + 1.5·IQR] (of an already sorted sequence)."""
    if len(sorted_values) < 4:
        return 0
    q1, q3 = percentile(sorted_values, 25), percentile(sorted_values, 75)
    lo, hi = q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1)
    return sum(1 for v in sorted_values if v < lo or v > hi)


# ---- ratios --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RatioEstimate:
    """A ratio with its 95% confidence interval, from `n` rounds (or resamples)."""

    value: float
    lo: float
    hi: float
    n: int

    @property
    def ci95(self) -> list[float]:
        """The 95% CI as [lo, hi]."""
        return [self.lo, self.hi]

    @property
    def significant(self) -> bool:
        """False when the interval contains 1: no significant difference."""
        return not self.lo <= 1.0 <= self.hi

    @property
    def relative_width(self) -> float:
        """The CI's width relative to the ratio: (hi - lo) / value."""
        return relative_width(self.lo, self.hi, self.value)


def paired_ratio(num: Sequence[float], den: Sequence[float]) -> RatioEstimate:
    """The median of the per-round ratios num_i / den_i and its order-statistic 95% CI."""
    ratios = sorted(a / b for a, b in zip(num, den, strict=True) if b > 0)
    if not ratios:
        raise ValueError("a paired ratio needs at least one round with a positive denominator")
    lo, hi = median_ci(ratios, presorted=True)
    return RatioEstimate(percentile(ratios, 50), lo, hi, len(ratios))


def bootstrap_ratio_ci(
    num: Sequence[float], den: Sequence[float], *, resamples: int = 2000, seed: int = 0
) -> RatioEstimate:
    """median(num) / median(den) with a percentile-bootstrap 95% CI (samples resampled independently)."""
    import numpy as np

    a, b = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    if len(a) == 0 or len(b) == 0:
        raise ValueError("a ratio of medians needs samples on both sides")
    rng = np.random.default_rng(seed)
    ma = np.median(rng.choice(a, (resamples, len(a))), axis=1)
    mb = np.median(rng.choice(b, (resamples, len(b))), axis=1)
    ok = mb > 0
    boot = ma[ok] / mb[ok]
    den_median = float(np.median(b))
    value = float(np.median(a)) / den_median if den_median > 0 else math.inf
    if not len(boot):
        return RatioEstimate(value, math.inf, math.inf, 0)
    lo, hi = np.quantile(boot, [(1 - CONFIDENCE) / 2, (1 + CONFIDENCE) / 2])
    return RatioEstimate(value, float(lo), float(hi), resamples)


def ratio_verdict(ci95: Sequence[float] | None, *, above: str = "higher", below: str = "lower") -> str:
    """'no significant difference' when the CI contains 1; else `above` or `below` (the CI's side of 1)."""
    if ci95 is None:
        return "no interval"
    lo, hi = ci95
    if lo <= 1.0 <= hi:
        return "no significant difference"
    return above if lo > 1.0 else below


def fmt_ratio(value: float | None, ci95: Sequence[float] | None, spec: str = ".3g", unit: str = "") -> str:
    """'1.23× [1.10, 1.37]', with 'n.s.' when the CI contains 1; '—' when there is no ratio."""
    if value is None:
        return "—"
    if ci95 is None:
        return f"{value:{spec}}{unit}"
    lo, hi = ci95
    ns = " n.s." if lo <= 1.0 <= hi else ""
    return f"{value:{spec}}{unit} [{lo:{spec}}, {hi:{spec}}]{ns}"


# ---- significance of a change between two independent sample sets (the gate's baseline check) -----------


@dataclass
class Comparison:
    """Candidate vs baseline: median ratio (>1 = slower) with its bootstrap CI, U statistic, two-sided p."""

    ratio: float
    u: float
    p_value: float
    n_base: int
    n_new: int
    ratio_ci95: list[float] | None = None

    def significant(self, alpha: float = DEFAULT_ALPHA) -> bool:
        """True when the two-sided p-value is below `alpha`: the change is not noise at that level."""
        return self.p_value < alpha


def _rankdata(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Average ranks (1-based) and the sizes of tie groups."""
    import numpy as np

    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    ranks = np.empty(len(x), dtype=float)
    # Start index of every run of equal values.
    starts = np.flatnonzero(np.r_[True, xs[1:] != xs[:-1]])
    ends = np.r_[starts[1:], len(xs)]
    for s, e in zip(starts, ends):
        ranks[order[s:e]] = (s + 1 + e) / 2.0
    return ranks, (ends - starts)


def mann_whitney_u(a: np.ndarray | list[float], b: np.ndarray | list[float]) -> tuple[float, float]:
    """U of `a` and the two-sided p-value (normal approximation with tie and continuity correction)."""
    import numpy as np

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    n1, n2 = len(a), len(b)
    if n1 == 0 or n2 == 0:
        raise ValueError("mann_whitney_u needs samples on both sides")
    ranks, ties = _rankdata(np.concatenate([a, b]))
    u1 = ranks[:n1].sum() - n1 * (n1 + 1) / 2.0
    n = n1 + n2
    mu = n1 * n2 / 2.0
    tie_term = float((ties**3 - ties).sum()) / (n * (n - 1)) if n > 1 else 0.0
    sigma = math.sqrt(n1 * n2 / 12.0 * ((n + 1) - tie_term))
    if sigma == 0:
        return u1, 1.0
    z = (abs(u1 - mu) - 0.5) / sigma
    p = math.erfc(max(z, 0.0) / math.sqrt(2.0))
    return u1, min(1.0, p)


def compare_samples(base: Sequence[float], new: Sequence[float]) -> Comparison:
    """Median ratio new/base with its bootstrap CI, and the Mann-Whitney p-value of the two sample sets."""
    u, p = mann_whitney_u(list(new), list(base))
    r = bootstrap_ratio_ci(new, base)
    return Comparison(ratio=r.value, u=u, p_value=p, n_base=len(base), n_new=len(new), ratio_ci95=r.ci95)
