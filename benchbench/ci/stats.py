"""Significance of a latency change: a two-sided Mann-Whitney U test (normal approximation, tie-corrected).

Written with numpy so the runtime needs no scipy; tests compare it with scipy.stats.mannwhitneyu.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

DEFAULT_ALPHA = 0.01


@dataclass
class Comparison:
    """Candidate vs baseline: median ratio (>1 = slower), U statistic, two-sided p-value."""

    ratio: float
    u: float
    p_value: float
    n_base: int
    n_new: int

    def significant(self, alpha: float = DEFAULT_ALPHA) -> bool:
        return self.p_value < alpha


def _rankdata(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Average ranks (1-based) and the sizes of tie groups."""
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


def compare_samples(base: list[float], new: list[float]) -> Comparison:
    """Median ratio new/base and the Mann-Whitney p-value of the two sample sets."""
    u, p = mann_whitney_u(new, base)
    ratio = float(np.median(new) / np.median(base)) if np.median(base) > 0 else math.inf
    return Comparison(ratio=ratio, u=u, p_value=p, n_base=len(base), n_new=len(new))
