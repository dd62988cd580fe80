"""Suites: which models, sizes, batch sizes, dtypes, stages and timing a run covers.

Four are built in (`smoke`, `default`, `full`, `gpu`); a TOML file defines others (`benchbench.runs.suite_file`).
A suite and the run's own options (device, workers, executor, shard) make the run's `RunSettings`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import benchbench.stages  # noqa: F401  (registers the built-in stages and the installed plug-ins)
from benchbench.core.errors import unknown_name
from benchbench.core.results import Shard
from benchbench.core.stage import stage_plugins, suite_stages
from benchbench.measure.timing import TimingConfig
from benchbench.record.run import RunSettings


@dataclass(frozen=True)
class Suite:
    """What a run measures: models, sizes, batch sizes, dtypes, stages, timing and each job's time limit."""

    name: str
    models: tuple[str, ...] = ("*",)  # zoo globs, torchvision:/timm:/hf: names, pkg.module:factory paths
    sizes: tuple[str, ...] = ("tiny",)
    batch_sizes: tuple[int, ...] = (1,)
    dtypes: tuple[str, ...] = ("float32",)
    timing: TimingConfig = field(default_factory=TimingConfig)
    stages: tuple[str, ...] | None = None  # registered stage names; None: those whose spec names this suite
    kernels: bool = False  # also run the kernel campaign (benchbench.runs.campaign) into RunResult.campaign
    job_timeout_s: float = 300.0  # a job running longer is killed and recorded as `timeout`

    def settings(
        self, *, device: str = "cpu", workers: int = 1, executor: str = "local", ray_address: str | None = None,
        shard: Shard | None = None, models: list[str] | None = None, job_timeout_s: float | None = None,
        campaign_budget_s: float | None = None,
    ) -> RunSettings:  # fmt: skip
        """This suite's settings for one run; `models` and `job_timeout_s` override the suite's."""
        stages = list(self.default_stages() if self.stages is None else self.stages)
        return RunSettings(
            suite=self.name, models=list(models or self.models), sizes=list(self.sizes),
            batch_sizes=list(self.batch_sizes), dtypes=list(self.dtypes), stages=stages,
            timing=self.timing, job_timeout_s=job_timeout_s or self.job_timeout_s,
            device=device, workers=workers, executor=executor, ray_address=ray_address,
            shard=shard, kernels=self.kernels,
            campaign_budget_s=campaign_budget_s, plugins=stage_plugins(stages),
        )  # fmt: skip

    def default_stages(self) -> tuple[str, ...]:
        """The registered stages that name this suite as one they run in (a suite file: those of `default`)."""
        return suite_stages(self.name if self.name in SUITES else "default")


# Timing: the floors as before, then on until the p50's CI is 5% wide, capped (max_time_s) to keep each budget.
SUITES = {
    "smoke": Suite("smoke", models=("mlp", "resnet18", "bert"),
                   timing=TimingConfig(warmup=1, min_repeats=5, min_time_s=0.05, max_time_s=0.2), stages=(), job_timeout_s=120.0),
    "default": Suite("default", timing=TimingConfig(warmup=2, min_repeats=10, min_time_s=0.2, max_time_s=0.4),
                     job_timeout_s=300.0),
    "full": Suite("full", sizes=("tiny", "base"), timing=TimingConfig(warmup=3, min_repeats=20, min_time_s=1.0, max_time_s=3.0),
                  job_timeout_s=1800.0),
    "gpu": Suite("gpu", models=(), stages=(), kernels=True),  # the kernel campaign: checks, comparisons, goals
}  # fmt: skip


def get_suite(name: str) -> Suite:
    """The built-in suite called `name`; an unknown name is an error listing the known ones."""
    if name not in SUITES:
        raise unknown_name("suite", name, SUITES)
    return SUITES[name]


def shard_of(items: list, shard: Shard | None) -> list:
    """The deterministic i-th of n shards (1-based): every n-th item starting at i-1."""
    if shard is None:
        return items
    return items[shard.index - 1 :: shard.count]
