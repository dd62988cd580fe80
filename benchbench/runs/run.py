"""`benchbench run`: profile every model of a suite, apply the suite's stages, and write a run folder.

A stage that fails is recorded on that model while the run goes on; results.json and the reports are
written when every job is done.
"""

from __future__ import annotations

import fnmatch
import time
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from benchbench.core.env import capture_env
from benchbench.core.noise import machine_state, run_noise
from benchbench.core.results import ProfileResult, RunResult, StageError
from benchbench.core.schema import write
from benchbench.measure.profile import profile_target, run_stage
from benchbench.report.run_report import write_report
from benchbench.runs.campaign import run_campaign
from benchbench.runs.stages import STAGES, StageContext
from benchbench.runs.suite import Suite, get_suite, shard_of
from benchbench.sources.target import load_target


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
    for stage, fn in STAGES.items():
        if any(fnmatch.fnmatch(stage, p) for p in suite.stages):
            record = run_stage(result, stage, lambda fn=fn: fn(target, result, ctx))
            if record is not None:
                setattr(result, stage, record)
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
    s = get_suite(suite) if isinstance(suite, str) else suite
    run = RunResult(suite=s.name, device=device, profiles=[], env=capture_env(device),
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
        run.campaign = run_campaign(device, run_dir)
    run.elapsed_s = time.perf_counter() - start
    run.noise = run_noise(run, end=machine_state())  # the start's snapshot is in run.env["machine"]
    write(run_dir / "results.json", run)
    write_report(run, run_dir / "report.md", fmt="md")
    write_report(run, run_dir / "report.html", fmt="html")
    return run_dir
