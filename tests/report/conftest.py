"""A small run: a real profile and batch sweep of a tiny MLP, plus kernel, export and health sections in their shapes."""

from __future__ import annotations

import pytest

import benchbench.stages  # noqa: F401  (registers the stages whose records and sections the report shows)
from benchbench.core.results import Parity
from benchbench.deploy.records import Readiness
from benchbench.estimate.ceilings import measure_ceilings
from benchbench.health.records import Finding, HealthReport, ProbeResult
from benchbench.kernelbench.records import Campaign, CompareRow
from benchbench.measure.profile import profile
from benchbench.measure.sweep import sweep
from benchbench.measure.timing import TimingConfig
from benchbench.record.run import RunResult
from benchbench.sources.target import load_target

FAST = TimingConfig(warmup=1, min_repeats=3, max_repeats=5, min_time_s=0.0)


@pytest.fixture(scope="session")
def small_run() -> RunResult:
    p = profile("mlp", size="tiny", batch_size=2, timing=FAST)
    p.sweeps = sweep(load_target("mlp", "tiny", 1, None, 0), batch_sizes=[1, 4, 16], timing=FAST)
    p.export = Readiness(verdict="ready-with-warnings", exporter="dynamo", warnings=["parity loose"],
                         parity=Parity(ok=False, ok_loose=True, outputs=[]), ratio=0.8, ratio_ci95=[0.7, 0.9])  # fmt: skip
    p.health = HealthReport(lint=[Finding("dropout-before-norm", "warning", "x", "m", "w", "f")],
                            probe=ProbeResult(1.0, 0.5, True, {}, {}))  # fmt: skip
    bare = profile("resnet18", size="tiny", batch_size=1, timing=FAST, memory=False, layers=False)
    row = CompareRow("layernorm", "triton", False, "cpu", "float32", "M=4,N=8", "fwd", "timed", p50_ms=0.2,
                     baseline_p50_ms=0.3, speedup=1.5, ok=True)  # fmt: skip
    campaign = Campaign(notes=["a test campaign"], comparisons=[row])
    return RunResult(suite="test", device="cpu", profiles=[p, bare], campaign=campaign, env=p.env,
                     ceilings=measure_ceilings("cpu"))  # fmt: skip


@pytest.fixture(scope="session")
def empty_run() -> RunResult:
    """A run with one profile that has nothing but its identity: every section must say 'not measured'."""
    from benchbench.measure.records import ProfileResult

    return RunResult(
        suite="test", device="cpu", profiles=[ProfileResult("m", "image", "tiny", 1, "cpu", "float32")]
    )
