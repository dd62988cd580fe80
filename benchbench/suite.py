"""Suites and `benchbench run`: profile every model of a suite, run the extra stages, write a run folder.

A suite names the models and sizes to run. Stages beyond the profile (export, health lint, ...) are
registered with `register_stage` by their own modules; each fills one section of a model's result,
and a stage that fails is recorded on that model while the run goes on.
"""

from __future__ import annotations

import fnmatch
import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from benchbench.env import capture_env
from benchbench.errors import unknown_name
from benchbench.models.registry import list_models
from benchbench.profile import profile_target, run_stage
from benchbench.results import ProfileResult, RunResult, StageError, write_json
from benchbench.target import Target, load_target
from benchbench.timing import TimingConfig


@dataclass(frozen=True)
class Suite:
    name: str
    sizes: tuple[str, ...] = ("tiny",)
    models: tuple[str, ...] = ("*",)  # fnmatch patterns over the zoo
    batch_size: int = 1
    timing: TimingConfig = field(default_factory=TimingConfig)
    stages: tuple[str, ...] = ("*",)  # which registered stages run
    kernels: bool = False  # also run the kernel campaign (benchbench.kernel_campaign) into RunResult.kernels

    def model_names(self) -> list[str]:
        names: list[str] = []
        for pattern in self.models:
            names += [n for n in list_models(pattern) if n not in names]
        return names


SUITES = {
    "smoke": Suite("smoke", models=("mlp", "resnet18", "bert"), timing=TimingConfig(warmup=1, min_repeats=5, min_time_s=0.05), stages=()),
    "default": Suite("default", timing=TimingConfig(warmup=2, min_repeats=10, min_time_s=0.2)),
    "full": Suite("full", sizes=("tiny", "base"), timing=TimingConfig(warmup=3, min_repeats=20, min_time_s=1.0)),
    "gpu": Suite("gpu", models=(), stages=(), kernels=True),  # the kernel campaign: checks, comparisons, targets
}  # fmt: skip


@dataclass
class StageContext:
    """What a stage gets besides the target: where the run writes files and on what device."""

    out_dir: Path
    device: str
    dtype: str = "float32"


Stage = Callable[[Target, ProfileResult, StageContext], dict]

_STAGES: dict[str, Stage] = {}
# Modules whose import registers stages.
_STAGE_MODULES: tuple[str, ...] = ("benchbench.health", "benchbench.readiness")


def register_stage(name: str) -> Callable[[Stage], Stage]:
    """Register `fn(target, result, ctx) -> dict` as a run stage whose dict becomes `result.<name>`."""

    def wrap(fn: Stage) -> Stage:
        if name in _STAGES:
            raise ValueError(f"stage {name!r} is registered twice")
        _STAGES[name] = fn
        return fn

    return wrap


def list_stages() -> list[str]:
    for mod in _STAGE_MODULES:
        importlib.import_module(mod)
    return list(_STAGES)


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


def profile_one(name: str, size: str, suite: Suite, ctx: StageContext) -> ProfileResult:
    """Profile one model and run the suite's stages on it; failures are recorded, never raised."""
    try:
        target = load_target(name, size, suite.batch_size)
    except Exception as exc:
        result = ProfileResult(model=name, modality="unknown", size=size, batch_size=suite.batch_size,
                               device=ctx.device, dtype=ctx.dtype)  # fmt: skip
        result.errors.append(StageError.from_exception("build", exc))
        return result
    try:
        result = profile_target(target, device=ctx.device, dtype=ctx.dtype, timing=suite.timing)
    except Exception as exc:
        result = ProfileResult(model=name, modality=target.modality, size=size, batch_size=suite.batch_size,
                               device=ctx.device, dtype=ctx.dtype)  # fmt: skip
        result.errors.append(StageError.from_exception("profile", exc))
        return result
    for stage in list_stages():
        if any(fnmatch.fnmatch(stage, p) for p in suite.stages):
            section = run_stage(result, stage, lambda s=stage: _STAGES[s](target, result, ctx))
            if section is not None:
                result.sections[stage] = section
    return result


def run_suite(
    suite: str | Suite = "default",
    *,
    device: str = "cpu",
    out: str | Path = "results",
    shard: tuple[int, int] | None = None,
    models: list[str] | None = None,
) -> Path:
    """Run a suite and write `results.json` and `report.md` into a fresh folder under `out`; return it."""
    from benchbench.report import write_report

    s = get_suite(suite) if isinstance(suite, str) else suite
    run = RunResult(suite=s.name, device=device, env=capture_env(device),
                    shard=f"{shard[0]}/{shard[1]}" if shard else None)  # fmt: skip
    run_dir = Path(out) / run.run_id
    run_dir.mkdir(parents=True, exist_ok=False)
    ctx = StageContext(out_dir=run_dir, device=device)
    jobs = shard_of([(m, size) for m in (models or s.model_names()) for size in s.sizes], shard)
    start = time.perf_counter()
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, transient=False) as progress:
        task = progress.add_task(f"suite {s.name}", total=len(jobs))
        for name, size in jobs:
            progress.update(task, description=f"suite {s.name}: {name} ({size})")
            run.profiles.append(profile_one(name, size, s, ctx))
            progress.advance(task)
    if s.kernels:
        from benchbench.kernel_campaign import run_campaign

        run.kernels += run_campaign(device, run_dir)
    run.elapsed_s = time.perf_counter() - start
    write_json(run_dir / "results.json", run)
    write_report(run, run_dir / "report.md", fmt="md")
    write_report(run, run_dir / "report.html", fmt="html")
    return run_dir
