"""Every latency a run writes carries its CI, CV and stop reason; every ratio its CI; the run its noise verdict."""

from __future__ import annotations

import json
from typing import Any

from benchbench.measure.records import STOP_REASONS
from benchbench.measure.timing import TimingConfig
from benchbench.runs.run import run_suite
from benchbench.runs.suite import Suite

FAST = TimingConfig(warmup=1, min_repeats=5, max_repeats=50, min_time_s=0.0, max_time_s=0.2)
RATIOS = {"ratio": "ratio_ci95", "speedup": "ratio_ci95", "ratio_vs_fp32_ort": "ratio_vs_fp32_ort_ci95"}


def _walk(node: Any, path: str = ""):
    if isinstance(node, dict):
        yield path, node
        for k, v in node.items():
            yield from _walk(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, f"{path}[{i}]")


def test_results_json_carries_uncertainty_everywhere(tmp_path):
    folder = run_suite(
        Suite("u", models=("mlp",), timing=FAST, stages=("export",)).settings(), out=tmp_path
    ).run_dir
    data = json.loads((folder / "results.json").read_text())
    latencies = ratios = 0
    for path, d in _walk(data):
        if {"p50_ms", "n", "threads"} <= set(d):  # a LatencyStats
            latencies += 1
            lo, hi = d["ci95_ms"]
            assert lo <= d["p50_ms"] <= hi and d["cv"] is not None and d["stop_reason"] in STOP_REASONS, path
        for key, ci_key in RATIOS.items():
            if d.get(key) is not None:
                ratios += 1
                lo, hi = d[ci_key]
                assert lo <= d[key] <= hi, f"{path}.{key}"
    assert latencies >= 4 and ratios >= 3  # the profile, ORT, eager and int8; ORT/eager and two int8 ratios
    assert (
        data["noise"]["verdict"] in ("quiet", "noisy", "unusable") and data["noise"]["latencies"] == latencies
    )
    assert data["env"]["machine"]["cpus"] >= 1
