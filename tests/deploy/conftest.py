"""Shared fixtures for the ONNX tests: exports are cached per session, written under a temporary folder."""

from __future__ import annotations

import pytest

from benchbench.deploy.readiness import ReadinessConfig, check_readiness
from benchbench.measure.timing import TimingConfig
from benchbench.sources.target import load_target

FAST = TimingConfig(warmup=1, min_repeats=3, max_repeats=20, min_time_s=0.01)


@pytest.fixture(scope="session")
def readiness_of(tmp_path_factory):
    """`readiness_of(model, **config)` → the Readiness record, computed once per (model, config)."""
    cache: dict = {}
    out = tmp_path_factory.mktemp("onnx")

    def get(model: str, **config):
        key = (model, tuple(sorted(config.items())))
        if key not in cache:
            cfg = ReadinessConfig(timing=FAST, **config)
            cache[key] = check_readiness(load_target(model, "tiny", None), out / str(len(cache)), cfg)
        return cache[key]

    return get
