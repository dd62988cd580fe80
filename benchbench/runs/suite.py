"""Suites: which models, sizes, timing and stages a run covers, by name (`smoke`, `default`, `full`, `gpu`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from benchbench.core.errors import unknown_name
from benchbench.measure.timing import TimingConfig
from benchbench.models.registry import list_models


@dataclass(frozen=True)
class Suite:
    name: str
    sizes: tuple[str, ...] = ("tiny",)
    models: tuple[str, ...] = ("*",)  # fnmatch patterns over the zoo
    batch_size: int = 1
    timing: TimingConfig = field(default_factory=TimingConfig)
    stages: tuple[str, ...] = ("export", "health")  # fnmatch patterns over runs.stages.STAGES
    kernels: bool = False  # also run the kernel campaign (benchbench.runs.campaign) into RunResult.campaign

    def model_names(self) -> list[str]:
        names: list[str] = []
        for pattern in self.models:
            names += [n for n in list_models(pattern) if n not in names]
        return names


# Timing: the floors as before, then on until the p50's CI is 5% wide, capped (max_time_s) to keep each budget.
SUITES = {
    "smoke": Suite("smoke", models=("mlp", "resnet18", "bert"), timing=TimingConfig(warmup=1, min_repeats=5, min_time_s=0.05, max_time_s=0.2), stages=()),
    "default": Suite("default", timing=TimingConfig(warmup=2, min_repeats=10, min_time_s=0.2, max_time_s=0.4)),
    "full": Suite("full", sizes=("tiny", "base"), timing=TimingConfig(warmup=3, min_repeats=20, min_time_s=1.0, max_time_s=3.0)),
    "gpu": Suite("gpu", models=(), stages=(), kernels=True),  # the kernel campaign: checks, comparisons, targets
}  # fmt: skip


def get_suite(name: str) -> Suite:
    if name not in SUITES:
        raise unknown_name("suite", name, SUITES)
    return SUITES[name]


def shard_of(items: list, shard: tuple[int, int] | None) -> list:
    """The deterministic i-th of n shards (1-based): every n-th item starting at i-1."""
    if shard is None:
        return items
    i, n = shard
    return items[i - 1 :: n]
