"""What a run's plan is checked for before its folder is made: inputs that would fail every job they touch.

Too many workers, an unknown zoo size, a batch size beyond `MAX_BATCH` (or one whose forward pass cannot fit in the memory free
now), a user model that is neither `pkg.module:factory` nor an existing `file.py:factory`: each is one
BadInputError line (exit 2) before anything is measured, instead of a failed job found well into the run.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from benchbench.core.errors import BadInputError
from benchbench.core.results import Job
from benchbench.record.run import RunSettings
from benchbench.sources.target import is_library_model, is_user_model

WORKERS_PER_CPU = 4  # more worker processes than this per CPU only thrash
MAX_BATCH = 1 << 20  # a larger batch is not a benchmark configuration, and overflows int32 index math soon
# batches larger than this are built at batch 1 first to check that they fit (a forward pass each)
FIT_CHECK_ABOVE = 1024


def check_user_model(model: str) -> None:
    """A user factory given as `pkg.module:factory` (Python names, the top package findable) or an existing
    `file.py:factory`; nothing of it is imported here."""
    module, _, factory = model.partition(":")
    form = "a user model is pkg.module:factory (Python names) or file.py:factory (an existing file)"
    if not factory.isidentifier():
        raise BadInputError(f"model {model!r}: factory {factory!r} is not a Python name; {form}")
    if module.endswith(".py"):
        if not Path(module).is_file():
            raise BadInputError(f"model {model!r}: no such file {module!r}; {form}")
        return
    if not all(part.isidentifier() for part in module.split(".")):
        raise BadInputError(f"model {model!r}: {module!r} is not a module path; {form}")
    top = module.split(".")[0]
    try:
        found = importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        found = False
    if not found and not Path(top).is_dir() and not Path(f"{top}.py").is_file():
        raise BadInputError(f"model {model!r}: no module {top!r} can be found (working directory and "
                            f"installed packages searched); {form}")  # fmt: skip


def check_workers(workers: int) -> None:
    """At most WORKERS_PER_CPU worker processes per CPU: more only thrash (and each imports torch)."""
    limit = WORKERS_PER_CPU * (os.cpu_count() or 1)
    if workers > limit:
        raise BadInputError(f"--workers {workers} is more than {limit} ({WORKERS_PER_CPU} per CPU of this machine); "
                            "give fewer")  # fmt: skip


def check_plan(jobs: list[Job], settings: RunSettings) -> None:
    """Refuse, before the run starts, a plan some of whose jobs could only fail (see the module docstring)."""
    from benchbench.measure.memory import check_batch_fits
    from benchbench.models.registry import get_model_spec

    check_workers(settings.workers)

    largest: dict[tuple[str, str], int] = {}
    for job in jobs:
        if job.batch_size > MAX_BATCH:
            raise BadInputError(f"batch size {job.batch_size} of {job.key!r} is more than {MAX_BATCH}; give a "
                                "smaller batch size")  # fmt: skip
        if is_user_model(job.model):
            check_user_model(job.model)
        elif not is_library_model(job.model):
            get_model_spec(job.model).config(job.size)  # an unknown size: one line naming the model's sizes
        key = (job.model, job.size)
        largest[key] = max(largest.get(key, 0), job.batch_size)
    for (model, size), batch in largest.items():
        if batch > FIT_CHECK_ABOVE:
            check_batch_fits(model, None if ":" in model else size, batch)
