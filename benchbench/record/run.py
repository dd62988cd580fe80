"""A run's record: its settings, its profiles, the kernel campaign and the machine it ran on, and every kind of
results file benchbench writes, assembled.

This is the lowest layer that sees every role a run holds (profiles from `measure`, stage records through the
stage registry, `Ceilings` from `estimate`, the `Campaign` from `kernelbench`), so `RunResult` and
`RunSettings` (which holds a typed `TimingConfig` and `Shard`, built once from the command line or the suite
file and read as such by the planner and the workers) live here, above the roles and below the report that
renders them. Importing this module registers every role's top-level record kind with the schema layer
(`benchbench.core.schema.KINDS`), so `load_run` and `read` know them all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import benchbench.deploy.records
import benchbench.health.records
import benchbench.kernelbench.records
import benchbench.serve.records  # noqa: F401  (the roles' top-level kinds: export, health, swap, ..., serve)
from benchbench.core.results import GitState, Job, NoiseVerdict, Shard, new_run_id, now_iso
from benchbench.core.schema import read, record_kind
from benchbench.estimate.records import Ceilings
from benchbench.kernelbench.records import Campaign
from benchbench.measure.records import ProfileResult
from benchbench.measure.timing import TimingConfig


@dataclass
class RunSettings:
    """Everything that says how a run measures, recorded in the run so `--resume` runs the rest the same way."""

    suite: str
    models: list[str]  # zoo globs and pkg.module:factory paths, as given
    sizes: list[str]
    batch_sizes: list[int]
    dtypes: list[str]
    stages: list[str]  # names (or globs) of registered stages
    timing: TimingConfig  # of every job
    job_timeout_s: float
    device: str = "cpu"
    workers: int = 1
    executor: str = "local"  # "local" (worker processes) or "ray"
    ray_address: str | None = None
    shard: Shard | None = None  # the part of the jobs this run does (`benchbench run --shard I/N`)
    kernels: bool = False  # run the GPU kernel campaign after the jobs
    campaign_budget_s: float | None = None  # the campaign's time budget (None: the device's default)
    plugins: list[str] = field(
        default_factory=list
    )  # modules registering its stages, imported by each worker


@record_kind("run")
@dataclass
class RunResult:
    """A suite run: profiles and the kernel campaign measured together, with their environment.

    A run is a snapshot: its settings, the environment, the repository's commit and the device's measured
    ceilings are recorded when it starts, so rendering its report measures nothing.
    """

    suite: str
    device: str
    profiles: list[ProfileResult]
    campaign: Campaign | None = None
    settings: RunSettings | None = None
    jobs: list[Job] = field(default_factory=list)  # every job planned (profiles hold the ones done)
    ceilings: Ceilings | None = None  # measured on `device` at the start of the run
    git: GitState | None = None
    env: dict[str, Any] = field(default_factory=dict)
    run_id: str = field(default_factory=new_run_id)
    created_at: str = field(default_factory=now_iso)
    elapsed_s: float | None = None
    shard: str | None = None
    noise: NoiseVerdict | None = None

    __derived__ = ("missing",)

    @property
    def missing(self) -> list[str]:
        """Keys of planned jobs with no profile (an interrupted run, before `--resume`)."""
        done = {p.job for p in self.profiles}
        return [j.key for j in self.jobs if j.key not in done]


def load_run(path: str | Path) -> RunResult:
    """A run from `results.json` or a run folder holding one; a single profile becomes a one-profile run."""
    path = Path(path)
    if path.is_dir():
        path = path / "results.json"
    record = read(path, ("run", "profile"))
    if isinstance(record, ProfileResult):
        return RunResult(suite="single", device=record.device, profiles=[record], env=record.env)
    return record
