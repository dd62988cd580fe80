"""The max-QPS search brackets the knee: the rate it returns keeps the p99 within the budget, 1.2× that rate
does not, and the rate is one the server can sustain."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from benchbench.serve.scenarios import ServeConfig, serve_target
from benchbench.serve.search import MIN_QUERIES, find_max_qps
from benchbench.serve.server import Batching, must_fail_count, serve_poisson
from benchbench.sources.target import load_target

SLEEPY = f"{Path(__file__).with_name('sleepy_model.py')}:make_model"
MAX_BATCH = 4
BUDGET_MS = 100.0


def test_search_brackets_the_knee_of_a_model_with_a_stable_service_time():
    """Why this cannot fail on a slow machine: the model sleeps 10 ms + 1 ms per sample (`sleepy_model.py`), so
    a full batch of 4 takes 14 ms and the server answers at most 4 / 14 ms ≈ 286 queries/s, loaded machine or
    not (sleep needs no CPU; a late wake-up only lowers that ceiling). Below it latency stays near the batching
    window plus a couple of services (≈ 30 ms, under the 100 ms budget); above it the queue grows by the excess
    rate for the whole probe, so the p99 passes any bound. 1.2× the highest passing rate is above the ceiling
    unless the search stopped below 83% of it (a probe of finite duration T can pass slightly above the ceiling,
    by at most budget / T, which is what the bound on `max_qps` allows); should the check probe still pass, it is re-probed (other seeds)
    at most twice, and the test then asks that one of the three fails."""
    target = load_target(SLEEPY, None, 1)
    cfg = ServeConfig(scenario="server", find_max=True, p99_budget_ms=BUDGET_MS, queries=MIN_QUERIES,
                      min_duration_s=1.0, batching=Batching(MAX_BATCH, 2.0), max_probes=10, tolerance=0.05)  # fmt: skip
    result = serve_target(target, ["eager"], cfg)
    search = result.backends[0].search
    assert search is not None and search.max_qps is not None, search
    ceiling = MAX_BATCH / (10.0 + MAX_BATCH) * 1e3  # queries/s
    # A finite probe above the ceiling by a fraction f piles up f × duration seconds of work: it passes while
    # that stays under the budget, so no passing rate exceeds ceiling × (1 + budget / duration).
    slack = 1 + BUDGET_MS / 1e3 / search.at.elapsed_s
    assert search.max_qps <= ceiling * slack * 1.02, (
        f"{search.max_qps} passes though the server cannot sustain it"
    )
    assert search.at.within_budget and search.at.latency.p99_ms <= BUDGET_MS
    assert search.at.unanswered == 0 and search.at.answered >= MIN_QUERIES
    lo, hi = search.at.latency.p99_ci95_ms
    assert lo is not None and hi is not None and lo <= search.at.latency.p99_ms <= hi
    assert search.lowest_failing_qps is not None and search.lowest_failing_qps > search.max_qps
    assert search.above is not None and math.isclose(search.above.target_qps, 1.2 * search.max_qps)
    checks = [search.above]
    runner_cfg = Batching(MAX_BATCH, 2.0)
    if search.above.within_budget:
        from benchbench.serve.backends import make_runner
        from benchbench.serve.scenarios import query_pool

        runner = make_runner("eager", target, Path("."), 1)
        payloads = [runner.prepare(q) for q in query_pool(target)]
        for seed in (1, 2):
            checks.append(serve_poisson(runner, payloads, rate=1.2 * search.max_qps, queries=MIN_QUERIES,
                                        batching=runner_cfg, budget_ms=BUDGET_MS, seed=seed))  # fmt: skip
            if not checks[-1].within_budget:
                break
    assert any(not c.within_budget and c.latency.p99_ms > BUDGET_MS for c in checks), checks


def test_search_logic_on_a_known_curve():
    """The bracketing and bisection on a synthetic p99 curve (a probe that answers from a formula): the answer
    is within the tolerance below the true limit, in few probes."""
    from benchbench.serve.records import EndToEndLatency, ServerProbe

    limit = 137.0

    def probe(rate: float) -> ServerProbe:
        p99 = 10.0 if rate <= limit else 500.0
        lat = EndToEndLatency.from_samples([p99] * 400)
        return ServerProbe(rate, 400, 400, 0, lat, rate, 1.0, 0.0, 0.0, 1.0, "done", 20.0, p99 <= 20.0)

    s = find_max_qps(probe, 10.0, 20.0, max_probes=20, tolerance=0.02)
    assert s.stop_reason == "resolved"
    assert limit / 1.02 <= s.max_qps <= limit < s.lowest_failing_qps <= s.max_qps * 1.02
    assert len(s.probes) <= 12 and s.above.target_qps == pytest.approx(1.2 * s.max_qps)
    assert not s.above.within_budget
    none = find_max_qps(lambda r: probe(1e9), 10.0, 20.0, max_probes=5)
    assert none.max_qps is None and none.stop_reason == "none_passed" and none.above is None


@pytest.mark.parametrize("n", [368, 400, 1000, 1024])
def test_must_fail_count_is_exactly_where_the_p99_must_exceed_the_bound(n):
    """k values over the bound force the p99 over it when k >= must_fail_count(n); with one fewer it can stay."""
    from benchbench.core.stats import percentile

    k = must_fail_count(n)
    assert percentile(sorted([1.0] * (n - k) + [100.0] * k), 99) > 50.0
    assert percentile(sorted([1.0] * (n - k + 1) + [50.0000001] * (k - 1)), 99) <= 50.0000001
    # the bound just above the remaining values: p99 can be at or under it with k - 1 values over
    assert percentile(sorted([1.0] * (n - k + 1) + [100.0] * (k - 1)), 99) < 100.0
