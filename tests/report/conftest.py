"""A small run: a real profile and batch sweep of a tiny MLP, plus kernel, export and health sections in their shapes."""

from __future__ import annotations

import pytest

from benchbench.core.results import RunResult
from benchbench.core.target import load_target
from benchbench.measure.profile import profile
from benchbench.measure.sweep import sweep
from benchbench.measure.timing import TimingConfig

FAST = TimingConfig(warmup=1, min_repeats=3, max_repeats=5, min_time_s=0.0)


@pytest.fixture(scope="session")
def small_run() -> RunResult:
    p = profile("mlp", size="tiny", batch_size=2, timing=FAST)
    p.sections["sweeps"] = sweep(load_target("mlp", "tiny", 1, None, 0), batch_sizes=[1, 4, 16], timing=FAST)
    p.sections["export"] = {"verdict": "ready-with-warnings", "exporter": "dynamo", "warnings": ["parity loose"],
                            "parity": {"ok": False, "ok_loose": True}, "ratio": 0.8}  # fmt: skip
    p.sections["health"] = {"lint": [{"rule": "dropout-before-norm", "severity": "warning", "module": "x",
                                      "message": "m", "why": "w", "fix": "f"}],
                            "probe": {"loss_fell": True, "vanishing": [], "exploding": []}}  # fmt: skip
    bare = profile("resnet18", size="tiny", batch_size=1, timing=FAST, memory=False, layers=False)
    kernels = [{"op": "layernorm", "impl": "triton", "baseline": "eager", "device": "cpu", "p50_ms": 0.2,
                "baseline_p50_ms": 0.3, "speedup": 1.5, "ok": True}]  # fmt: skip
    return RunResult(suite="test", device="cpu", profiles=[p, bare], kernels=kernels, env=p.env)


@pytest.fixture(scope="session")
def empty_run() -> RunResult:
    """A run with one profile that has nothing but its identity: every section must say 'not measured'."""
    from benchbench.core.results import ProfileResult

    return RunResult(
        suite="test", device="cpu", profiles=[ProfileResult("m", "image", "tiny", 1, "cpu", "float32")]
    )
