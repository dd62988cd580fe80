"""The highest Poisson rate whose p99 stays within a budget: bracket, then bisect, a bounded number of probes.

From a start rate, the rate doubles while probes pass (halves while they fail) until one passing and one
failing rate bracket the knee; then the geometric mean of the bracket is probed until failing / passing ≤
1 + `tolerance`, or `max_probes` probes were made. The answer is the highest passing rate, with its probe (its
p99 and that p99's 95% CI from order statistics), and one more probe at `check_factor` × that rate, which should
fail: it shows the knee lies between the two.

Each probe is long enough for its p99 to mean something: at least `MIN_QUERIES` = 368 queries, the fewest for
which the largest latency is a 97.5% upper confidence bound of the p99 (0.99^368 < 2.5%;
`core.stats.min_samples_for_quantile_ci`). MLPerf's LoadGen asks for far more in its Server scenario (about 270,000
queries without early stopping); its early-stopping rule needs at least 459 queries with none over the bound
(both as cited in mlcommons/endpoints#417, which ports LoadGen's early-stopping math).
A probe passes when its point p99 is within the budget and every query was answered. It also lasts at least
`min_duration_s`: a rate above what the server sustains by a fraction f piles up f × duration seconds of work,
so a probe of duration T can pass up to (1 + budget / T) × the sustainable rate; T ≫ budget keeps that small
(MLPerf's LoadGen sets a minimum duration per scenario for the same reason).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from benchbench.core.stats import min_samples_for_quantile_ci
from benchbench.serve.records import MaxQpsSearch, ServerProbe

MIN_QUERIES = min_samples_for_quantile_ci(0.99)  # 368
MIN_RATE = 1e-3  # queries per second: below this the search gives up (nothing passes)


class RateProbe(Protocol):
    """What the search reads of a probe: the rate it offered and whether it met its budget."""

    target_qps: float
    within_budget: bool | None


P = TypeVar("P", bound=RateProbe)


@dataclass
class Bracket(Generic[P]):
    """The probes of a search, the highest passing one, the confirming probe above it, and why it stopped."""

    probes: list[P]
    best: P | None
    above: P | None
    lowest_failing_qps: float | None
    stop_reason: str


def passes(p: RateProbe) -> bool:
    return bool(p.within_budget)


def bracket_rate(
    probe: Callable[[float], P], start_qps: float, *, max_probes: int = 12, tolerance: float = 0.05,
    check_factor: float = 1.2, min_rate: float = MIN_RATE,
) -> Bracket[P]:  # fmt: skip
    """The highest rate whose probe passes, for any probe with `target_qps` and `within_budget` (the server's p99,
    the LLM scenario's goodput): double or halve from `start_qps` until a pass and a fail bracket the knee, bisect
    (geometric mean) to `tolerance`, then probe `check_factor` × the answer once. Rates below `min_rate` are not
    probed (their probes would outlast the time cap): the search stops there, "below_min_rate"."""
    if not (start_qps > 0 and max_probes >= 2 and tolerance > 0 and check_factor > 1):
        raise ValueError("need start_qps > 0, max_probes >= 2, tolerance > 0, check_factor > 1")
    probes: list[P] = []
    best: P | None = None
    lowest_fail: float | None = None
    rate = start_qps
    reason = "max_probes"
    while len(probes) < max_probes:
        p = probe(rate)
        probes.append(p)
        if passes(p):
            best = p if best is None or p.target_qps > best.target_qps else best
        else:
            lowest_fail = rate if lowest_fail is None else min(lowest_fail, rate)
        if best is None:
            rate = rate / 2
            if rate < min_rate:
                reason = "below_min_rate"
                break
        elif lowest_fail is None:
            rate = rate * 2
        elif lowest_fail / best.target_qps <= 1 + tolerance:
            reason = "resolved"
            break
        else:
            rate = math.sqrt(best.target_qps * lowest_fail)
    if best is None and reason == "max_probes":
        reason = "none_passed"
    if best is not None and lowest_fail is None:
        reason = "no_failure_found"
    above = probe(best.target_qps * check_factor) if best is not None else None  # faster: never too long
    return Bracket(probes, best, above, lowest_fail, reason)


def find_max_qps(
    probe: Callable[[float], ServerProbe],
    start_qps: float,
    budget_ms: float,
    *,
    max_probes: int = 12,
    tolerance: float = 0.05,
    check_factor: float = 1.2,
    min_queries: int = MIN_QUERIES,
    min_rate: float = MIN_RATE,
) -> MaxQpsSearch:
    """Search with `probe(rate) -> ServerProbe` (its budget set to `budget_ms`) from `start_qps`: `bracket_rate`,
    recorded as a `MaxQpsSearch`."""
    if not budget_ms > 0:
        raise ValueError("need budget_ms > 0")
    b = bracket_rate(probe, start_qps, max_probes=max_probes, tolerance=tolerance, check_factor=check_factor,
                     min_rate=min_rate)  # fmt: skip
    return MaxQpsSearch(
        budget_ms=budget_ms, probes=b.probes, max_qps=b.best.target_qps if b.best else None, at=b.best,
        above=b.above, lowest_failing_qps=b.lowest_failing_qps, stop_reason=b.stop_reason, tolerance=tolerance,
        max_probes=max_probes, check_factor=check_factor, min_queries=min_queries,
    )  # fmt: skip
