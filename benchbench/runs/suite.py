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
    models: tuple[str, ...] = (
        "*",
    )  # fnmatch patterns over the zoo, or library/user names (hf:gpt2, pkg.mod:f)
    batch_size: int = 1
    timing: TimingConfig = field(default_factory=TimingConfig)
    stages: tuple[str, ...] = ("export", "health")  # fnmatch patterns over runs.stages.STAGES
    kernels: bool = False  # also run the kernel campaign (benchbench.runs.campaign) into RunResult.campaign

    def model_names(self) -> list[str]:
        names: list[str] = []
        for pattern in self.models:
            found = [pattern] if ":" in pattern else list_models(pattern)  # a library or user name as given
            names += [n for n in found if n not in names]
        return names

    def jobs(self, models: list[str] | None = None) -> list[tuple[str, str | None]]:
        """(model, size) pairs: zoo models at each of the suite's sizes, library and user models once."""
        out: list[tuple[str, str | None]] = []
        for m in models or self.model_names():
            out += [(m, None)] if ":" in m else [(m, size) for size in self.sizes]
        return out


SUITES = {
    "smoke": Suite("smoke", models=("mlp", "resnet18", "bert"), timing=TimingConfig(warmup=1, min_repeats=5, min_time_s=0.05), stages=()),
    "default": Suite("default", timing=TimingConfig(warmup=2, min_repeats=10, min_time_s=0.2)),
    "full": Suite("full", sizes=("tiny", "base"), timing=TimingConfig(warmup=3, min_repeats=20, min_time_s=1.0)),
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
