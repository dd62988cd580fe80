"""Fixtures for the gate tests: a real (tiny) sharded suite run, and synthetic runs with known samples."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchbench.core.results import Shard
from benchbench.core.schema import write
from benchbench.deploy.records import Readiness
from benchbench.measure.records import FlopCount, LatencyStats, MemoryProfile, ParamCount, ProfileResult
from benchbench.measure.timing import TimingConfig
from benchbench.record.run import RunResult
from benchbench.runs.run import run_suite
from benchbench.runs.suite import Suite

MINI = Suite("mini", models=("mlp", "resnet18", "bert"), stages=(),
             timing=TimingConfig(warmup=1, min_repeats=5, min_time_s=0.01))  # fmt: skip


@pytest.fixture(scope="session")
def shard_runs(tmp_path_factory) -> tuple[Path, Path]:
    """The mini suite run as shard 1/2 and shard 2/2 (real `run_suite` runs, ~10 s in all)."""
    out = tmp_path_factory.mktemp("shards")
    return tuple(
        run_suite(MINI.settings(shard=Shard.parse(f"{i}/2")), out, progress=False).run_dir for i in (1, 2)
    )


@pytest.fixture(scope="session")
def merged_run(shard_runs, tmp_path_factory) -> Path:
    from benchbench.ci.merge import merge_folders

    return merge_folders(list(shard_runs), tmp_path_factory.mktemp("merged") / "run")


def synthetic_profile(model: str, median_ms: float, noise: float, n: int, rng: np.random.Generator,
                      **fields) -> ProfileResult:  # fmt: skip
    """A profile whose latency samples are normal(median, noise * median), with percentiles computed from them."""
    samples = np.maximum(rng.normal(median_ms, noise * median_ms, n), 1e-6)
    lat = LatencyStats.from_samples(samples.tolist())
    return ProfileResult(model=model, modality="vision", size="tiny", batch_size=1, device="cpu",
                         dtype="float32", latency=lat, **fields)  # fmt: skip


@pytest.fixture
def write_run(tmp_path):
    """Write a synthetic run of {model: (median_ms, noise)} and return its folder."""

    def make(name: str, models: dict[str, tuple[float, float]], seed: int = 0, n: int = 40) -> Path:
        rng = np.random.default_rng(seed)
        run = RunResult(suite="synthetic", device="cpu", profiles=[
            synthetic_profile(m, med, noise, n, rng, params=ParamCount(1000, 1000, {}, 4000),
                              flops=FlopCount(5000, 10000), memory=MemoryProfile(0, 0, 0, peak_bytes_inference=3 * 2**20),
                              stages={"export": Readiness(verdict="ready")})
            for m, (med, noise) in models.items()])  # fmt: skip
        folder = tmp_path / name
        write(folder / "results.json", run)
        return folder

    return make
