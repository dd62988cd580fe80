"""pytest-benchmark integration: its `--benchmark-json` output is gated, and the `latency_budget` marker works.

A real pytest-benchmark run in a subprocess produces the JSON (its schema, not a hand-written imitation).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchbench.ci.gate import is_pytest_benchmark, load_results
from benchbench.cli import main

BENCH = """
import time
import pytest

def test_sum(benchmark):
    benchmark.extra_info.update(model="summer", size="tiny")
    benchmark(sum, range(100))

@pytest.mark.latency_budget(p50_ms=1e-6)
def test_over_budget(benchmark):
    benchmark(time.sleep, 0.0005)

@pytest.mark.latency_budget(p50_ms=10_000, p99_ms=10_000)
def test_within_budget(benchmark):
    benchmark(sum, range(10))
"""


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    d = tmp_path_factory.mktemp("pb")
    (d / "test_trivial.py").write_text(BENCH)
    out = d / "bench.json"
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--strict-markers", "-o", "addopts=",
           "--benchmark-min-rounds=5", "--benchmark-max-time=0.02", f"--benchmark-json={out}", str(d)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=d, timeout=120)
    return proc, out


def test_latency_budget_marker_fails_only_the_over_budget_benchmark(bench_run) -> None:
    proc, _ = bench_run
    assert "1 failed, 2 passed" in proc.stdout, proc.stdout + proc.stderr
    assert "FAILED test_trivial.py::test_over_budget" in proc.stdout
    assert "latency budget exceeded: p50_ms" in proc.stdout


def test_pytest_benchmark_json_is_detected_and_converted(bench_run) -> None:
    _, out = bench_run
    assert is_pytest_benchmark(json.loads(out.read_text()))
    run = load_results(out)
    by_model = {p.model: p for p in run.profiles}
    assert {"summer", "test_within_budget"} <= set(by_model)
    lat = by_model["summer"].latency
    assert lat.n >= 5 and len(lat.samples_ms) == lat.n
    assert lat.p50_ms > 0 and lat.p90_ms >= lat.p50_ms * 0.5


def test_pytest_benchmark_json_gated(bench_run, tmp_path, capsys) -> None:
    _, out = bench_run
    f = tmp_path / "b.toml"
    f.write_text("[[budget]]\nmodel = 'summer'\np50_ms = 10000.0\np99_ms = 10000.0\n")
    assert main(["gate", str(out), "--budgets", str(f)]) == 0
    f.write_text("[[budget]]\nmodel = 'summer'\np50_ms = 0.000001\n")
    assert main(["gate", str(out), "--budgets", str(f)]) == 1
    assert "summer" in capsys.readouterr().out


def test_marker_is_registered(pytestconfig) -> None:
    assert any(line.startswith("latency_budget") for line in pytestconfig.getini("markers"))
