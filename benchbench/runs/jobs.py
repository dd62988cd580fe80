"""The jobs of a run and what one job does.

A run's settings expand into jobs, one per (model, size, batch size, dtype). A job builds its model, profiles
it and applies the run's stages; every failure inside it is recorded on its profile, never raised, so a job
ends with a `ProfileResult` unless the process running it dies (see `benchbench.runs.executors`).
"""

from __future__ import annotations

from pathlib import Path

from benchbench.core.dtypes import parse_dtype
from benchbench.core.errors import BadInputError
from benchbench.core.results import Job, StageError
from benchbench.core.stage import StageContext, selected_stages
from benchbench.measure.memory import check_batch_fits
from benchbench.measure.profile import profile_target, run_stage
from benchbench.measure.records import ProfileResult
from benchbench.models.registry import list_models
from benchbench.record.run import RunSettings
from benchbench.runs.suite import shard_of
from benchbench.sources.target import LIBRARY_SIZE, is_user_model, load_target
from benchbench.stages import load_plugins

USER_SIZE = "user"  # the size of a user factory's jobs: it has no presets


def resolve_models(patterns: list[str]) -> list[str]:
    """Zoo globs expanded to names; library names and user factories kept as given; each once, in order."""
    names: list[str] = []
    for pattern in patterns:
        if ":" in pattern:  # torchvision:/timm:/hf: names and pkg.module:factory paths
            found = [pattern]
        else:
            found = list_models(pattern)
            if not found:
                raise BadInputError(f"model pattern {pattern!r} matches no zoo model; allowed: {', '.join(list_models())} "
                                    "a torchvision:/timm:/hf: name or a user factory pkg.module:factory")  # fmt: skip
        names += [n for n in found if n not in names]
    return names


def plan_jobs(settings: RunSettings) -> list[Job]:
    """Every job of the run (its shard only, when sharded), in a deterministic order."""
    jobs = []
    for model in resolve_models(settings.models):
        sizes = [USER_SIZE if is_user_model(model) else LIBRARY_SIZE] if ":" in model else settings.sizes
        for size in sizes:
            for batch in settings.batch_sizes:
                for dtype in settings.dtypes:
                    jobs.append(Job(model, size, batch, str(parse_dtype(dtype)).removeprefix("torch.")))
    return shard_of(jobs, settings.shard)


def run_job(job: Job, settings: RunSettings, out_dir: Path) -> ProfileResult:
    """Build, profile and apply the stages to one job; failures are recorded on the result, never raised."""
    ctx = StageContext(out_dir=out_dir, device=settings.device, dtype=job.dtype)
    size = (
        None if job.size in (USER_SIZE, LIBRARY_SIZE) else job.size
    )  # library and user models have no presets
    try:
        load_plugins(settings.plugins)  # a worker imports the modules of the run's outside stages once
        check_batch_fits(job.model, size, job.batch_size)
        target = load_target(job.model, size, job.batch_size)
    except Exception as exc:
        result = ProfileResult(model=job.model, modality="unknown", size=job.size, batch_size=job.batch_size,
                               device=settings.device, dtype=job.dtype)  # fmt: skip
        result.errors.append(StageError.from_exception("build", exc))
        result.job = job.key
        return result
    try:
        result = profile_target(target, device=settings.device, dtype=job.dtype, timing=settings.timing)
    except Exception as exc:
        result = ProfileResult(model=job.model, modality=target.modality, size=target.size, batch_size=job.batch_size,
                               device=settings.device, dtype=job.dtype)  # fmt: skip
        result.errors.append(StageError.from_exception("profile", exc))
    else:
        for spec in selected_stages(settings.stages):
            record = run_stage(result, spec.name, lambda spec=spec: spec.run(target, result, ctx))
            if record is not None:
                result.stages[spec.name] = record
    result.job = job.key
    return result
