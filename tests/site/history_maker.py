"""A synthetic history for site tests: runs on two devices over many commits, with one injected slowdown."""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchbench.ci.history import append_runs
from benchbench.core.results import GitState
from benchbench.kernelbench.records import Campaign, CompareRow
from benchbench.measure.records import LatencyStats, ProfileResult
from benchbench.record.run import RunResult

MODELS = ("mlp", "resnet18", "bert")
DEVICES = ("cpu", "cuda:NVIDIA H100 80GB HBM3")
BASE_MS = {"mlp": 0.4, "resnet18": 6.0, "bert": 3.0}
START = datetime(2026, 1, 1, tzinfo=UTC)
SLOW_FROM = 0.75  # from this share of the runs on, resnet18 on the CPU is 30% slower


def fake_run(i: int, n: int, rng: random.Random) -> RunResult:
    """Run `i` of `n`: every model on one device (alternating), at commit i // 2."""
    device = DEVICES[i % 2]
    profiles = []
    for model in MODELS:
        base = BASE_MS[model] * (0.2 if device != "cpu" else 1.0)
        if model == "resnet18" and device == "cpu" and i >= SLOW_FROM * n:
            base *= 1.3
        samples = [base * (1 + abs(rng.gauss(0, 0.02))) for _ in range(30)]
        p = ProfileResult(model=model, modality="image", size="tiny", batch_size=1, device=device, dtype="float32",
                          latency=LatencyStats.from_samples(samples, device=device))  # fmt: skip
        profiles.append(p)
    return RunResult(suite="default", device=device, profiles=profiles, run_id=f"run-{i:05d}",
                     created_at=(START + timedelta(hours=i)).isoformat(),
                     git=GitState(repo="/repo", commit=hashlib.sha1(str(i // 2).encode()).hexdigest(), dirty=False),
                     campaign=_campaign(device, rng) if device != "cpu" and i % 50 == 1 else None)  # fmt: skip


def _campaign(device: str, rng: random.Random) -> Campaign:
    """Three attention implementations and two layernorm ones timed at one shape each."""
    rows = []
    for op, shape, impls in (("attention", "B=4 H=16 T=4096 D=128", {"eager": 9.0, "sdpa": 2.1, "triton": 1.7}),
                             ("layernorm", "M=4096 N=8192", {"eager": 0.9, "triton": 0.21})):  # fmt: skip
        for impl, ms in impls.items():
            p50 = ms * (1 + rng.random() * 0.02)
            rows.append(CompareRow(op=op, impl=impl, baseline=impl == "eager", device=device, dtype="bfloat16",
                                   shape=shape, mode="fwd", status="timed", p50_ms=p50, repeats=50,
                                   ci95_ms=[p50 * 0.99, p50 * 1.01], speedup=impls["eager"] / p50))  # fmt: skip
    return Campaign(comparisons=rows)


def make_history(db: Path, n: int, seed: int = 0) -> Path:
    """A history database of `n` runs, appended as `benchbench run` appends them (in one transaction)."""
    rng = random.Random(seed)
    return append_runs([(fake_run(i, n, rng), None) for i in range(n)], db)
