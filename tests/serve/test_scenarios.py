"""The scenarios on real models: single stream's p90, offline throughput per batch for eager and ONNX Runtime
side by side, a server probe's latencies, backends that cannot run skipped with a reason, and the records'
round trip through the versioned JSON."""

from __future__ import annotations

import numpy as np
import pytest

from benchbench.core.schema import dump, load
from benchbench.core.stats import min_samples_for_quantile_ci, quantile_ci, quantile_ci_ranks
from benchbench.measure.timing import TimingConfig
from benchbench.serve.loadgen import poisson_offsets
from benchbench.serve.scenarios import ServeConfig, serve_target
from benchbench.serve.server import Batching
from benchbench.sources.target import load_target


@pytest.fixture(scope="module")
def resnet18():
    return load_target("resnet18", "tiny", 1)


QUICK = TimingConfig(warmup=1, min_repeats=8, max_repeats=200, min_time_s=0.1, max_time_s=0.5)


def test_offline_eager_throughput_per_batch(resnet18):
    r = serve_target(
        resnet18, ["eager"], ServeConfig(scenario="offline", batch_sizes=(1, 4), offline_timing=QUICK)
    )
    off = r.backends[0].offline
    assert [p.batch_size for p in off.points] == [1, 4]
    assert off.best_throughput_per_s == max(p.throughput_per_s for p in off.points)
    assert off.best_batch_size in (1, 4)


@pytest.mark.slow  # exports to ONNX (about 20 s on two cores)
def test_offline_best_batch_beats_batch_one_for_eager_and_ort(resnet18):
    quick = TimingConfig(warmup=1, min_repeats=8, max_repeats=200, min_time_s=0.1, max_time_s=0.5)
    cfg = ServeConfig(scenario="offline", batch_sizes=(1, 4, 16), offline_timing=quick)
    r = serve_target(resnet18, ["eager", "ort"], cfg)
    assert [b.backend for b in r.backends] == ["eager", "ort"]
    for b in r.backends:
        assert b.skipped is None, b.skipped
        off = b.offline
        by_batch = {p.batch_size: p for p in off.points}
        assert set(by_batch) == {1, 4, 16}
        for p in off.points:  # throughput is what the batch latency says, and inside its interval
            assert p.throughput_per_s == pytest.approx(p.batch_size * 1000 / p.latency.p50_ms)
            lo, hi = p.throughput_ci95
            assert lo <= p.throughput_per_s <= hi
        assert off.best_throughput_per_s == max(p.throughput_per_s for p in off.points)
        assert off.best_throughput_per_s >= by_batch[1].throughput_per_s
    again = load(dump(r), "serve.json")
    assert again == r


def test_single_stream_p90_and_its_interval(resnet18):
    r = serve_target(resnet18, ["eager"], ServeConfig(scenario="single", queries=60))
    lat = r.backends[0].single.latency
    assert lat.n == 60
    assert lat.p50_ms <= lat.p90_ms <= lat.p99_ms <= lat.max_ms
    lo, hi = lat.p90_ci95_ms
    assert lo is not None and hi is not None and lo <= lat.p90_ms <= hi
    assert lat.p99_ci95_ms[1] is None  # 60 queries cannot bound a p99 from above


def test_server_probe_answers_every_query_at_a_light_load(resnet18):
    cfg = ServeConfig(
        scenario="server", qps=100.0, queries=368, min_duration_s=0.1, batching=Batching(4, 1.0)
    )
    p = serve_target(resnet18, ["eager"], cfg).backends[0].server
    assert p.answered == 368 and p.unanswered == 0 and p.stop_reason == "done"
    assert 1.0 <= p.mean_batch <= 4.0
    assert p.latency.n == 368 and p.latency.p99_ci95_ms[1] is not None
    assert p.within_budget is None  # no budget was given


def test_compile_without_a_compiler_is_skipped_with_the_reason(resnet18, monkeypatch):
    import shutil

    monkeypatch.setattr(shutil, "which", lambda name: None)
    r = serve_target(resnet18, ["compile"], ServeConfig(scenario="single", queries=40))
    assert r.backends[0].skipped and "C++ compiler" in r.backends[0].skipped
    assert r.backends[0].single is None


def test_poisson_schedule_offers_the_nominal_rate_with_exponential_gaps():
    t = poisson_offsets(250.0, 20000, seed=3)
    gaps = np.diff(t)
    assert np.all(gaps >= 0) and t[-1] <= 20000 / 250.0
    assert gaps.mean() == pytest.approx(1 / 250.0, rel=0.02)
    assert np.std(gaps) == pytest.approx(1 / 250.0, rel=0.05)  # exponential: sd = mean
    assert np.array_equal(poisson_offsets(250.0, 100, seed=1), poisson_offsets(250.0, 100, seed=1))


def test_quantile_ci_matches_the_binomial_and_covers():
    scipy_stats = pytest.importorskip("scipy.stats")
    for n, q in [(368, 0.99), (1000, 0.99), (1024, 0.9), (200, 0.5)]:
        lo, hi = quantile_ci_ranks(n, q)
        # lower rank l (1-based l = lo + 1): P(B <= l - 1) <= 2.5% < P(B <= l)
        assert scipy_stats.binom.cdf(lo, n, q) <= 0.025 < scipy_stats.binom.cdf(lo + 1, n, q)
        assert scipy_stats.binom.cdf(hi, n, q) >= 0.975 > scipy_stats.binom.cdf(hi - 1, n, q)
    assert min_samples_for_quantile_ci(0.99) == 368 and quantile_ci_ranks(367, 0.99)[1] is None
    rng = np.random.default_rng(0)
    true_p99 = -np.log(0.01)  # of Exp(1)
    covered = sum(
        lo <= true_p99 <= hi for lo, hi in (quantile_ci(rng.exponential(size=500), 0.99) for _ in range(400))
    )
    assert covered / 400 >= 0.92  # nominal 95% (order statistics give at least that, up to sampling)


@pytest.mark.slow  # inductor compiles the model at every batch size the server may form
def test_compile_backend_serves_or_says_why():
    """torch.compile where it runs here; where it does not (no compiler, an inductor failure), the reason."""
    r = serve_target(load_target("mlp", "tiny", 1), ["compile"],
                     ServeConfig(scenario="single", queries=40, batching=Batching(2, 1.0)))  # fmt: skip
    b = r.backends[0]
    if b.skipped is not None:
        assert b.skipped.startswith("torch.compile"), b.skipped
    else:
        assert b.single.latency.n == 40 and "torch.compile" in b.notes[0]
