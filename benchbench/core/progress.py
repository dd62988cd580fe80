"""Signs of life from a job's worker: which job it runs and which stage it is in, since when.

A worker process names a small status file (`announce_to`); `announce_job` and `announce_stage` then rewrite
it atomically (the measurement code calls `announce_stage` at the start of each stage, through
`measure.profile.run_stage`). The run's progress display reads the files (`read_status`) to show each busy
worker's job, stage and seconds in that stage. Outside a worker (a plain `benchbench profile`), nothing is
written.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

_status_path: Path | None = None
_job: str | None = None


@dataclass(frozen=True)
class WorkerStatus:
    """What one worker last said: the job, its stage, and when that stage started (epoch seconds)."""

    job: str
    stage: str
    since: float


def announce_to(path: str | Path | None) -> None:
    """Write this process's status to `path` from now on (None: stop writing)."""
    global _status_path
    _status_path = Path(path) if path is not None else None


def announce_job(job: str) -> None:
    """A new job starts in this process: its first stage is building the model."""
    global _job
    _job = job
    announce_stage("build")


def announce_stage(stage: str) -> None:
    """The current job enters `stage`; a no-op outside a worker or when the file cannot be written."""
    if _status_path is None or _job is None:
        return
    tmp = _status_path.with_name(f".{_status_path.name}.tmp")
    try:
        tmp.write_text(json.dumps({"job": _job, "stage": stage, "since": time.time()}), encoding="utf-8")
        os.replace(tmp, _status_path)
    except OSError:
        pass  # a sign of life is worth no failed job


def read_status(path: str | Path) -> WorkerStatus | None:
    """The status a worker wrote at `path`, or None when there is none (or it is unreadable)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return WorkerStatus(job=str(data["job"]), stage=str(data["stage"]), since=float(data["since"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
