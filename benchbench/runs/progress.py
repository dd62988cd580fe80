"""The run's sign of life: a bar over the planned jobs, the time left, and each busy worker's job and stage.

The time left is the jobs still to run divided by the rate at which this session has finished jobs (so
parallel workers count), shown once a job has finished; until then the line says it is waiting for the
first. Each worker's job, current stage and seconds in that stage come from the status files the workers
write (`benchbench.core.progress`), so a stage that runs long shows its seconds growing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Group
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from benchbench.core import inert
from benchbench.core.progress import read_status
from benchbench.measure.records import ProfileResult


def eta_s(finished: int, elapsed_s: float, remaining: int) -> float | None:
    """Seconds left at this session's job rate; None before the first job finished."""
    if finished <= 0 or elapsed_s <= 0:
        return None
    return remaining * elapsed_s / finished


def fmt_duration(seconds: float) -> str:
    """90 → '1 min 30 s'; 4000 → '1 h 07 min'."""
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


class _RunBar(Progress):
    """A rich Progress that renders, below its bar, the time left and one line per busy worker."""

    def __init__(self, lines: Callable[[], list[str]]) -> None:
        self.lines = lines  # before Progress starts rendering
        columns = (TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn())  # fmt: skip
        super().__init__(*columns, transient=False, refresh_per_second=2)

    def get_renderables(self):
        yield Group(self.make_tasks_table(self.tasks), *(Text(inert.one_line(line)) for line in self.lines()))


def worker_lines(status_dir: Path, finished_jobs: set[str], since: float) -> list[str]:
    """'  JOB: STAGE (SECONDS)' for each worker status written after `since` whose job is not finished."""
    now, out = time.time(), []
    for path in sorted(status_dir.glob("*.status")):
        status = read_status(path)
        if status is not None and status.since >= since and status.job not in finished_jobs:
            out.append(f"  {status.job}: {status.stage} ({fmt_duration(max(0.0, now - status.since))})")
    return out


@contextmanager
def run_progress(
    show: bool, total: int, done: int, name: str, status_dir: Path
) -> Iterator[Callable[[ProfileResult], None]]:
    """A context whose value is called with each finished profile; it shows nothing when `show` is False."""
    if not show:
        yield lambda profile: None
        return
    start, started, finished, finished_jobs = time.monotonic(), time.time(), [0], set()

    def lines() -> list[str]:
        remaining = total - done - finished[0]
        left = eta_s(finished[0], time.monotonic() - start, remaining)
        out = [f"  time left: about {fmt_duration(left)}" if left is not None
               else f"  time left: known after the first job ({remaining} to run)"]  # fmt: skip
        return [*out, *worker_lines(status_dir, finished_jobs, started)] if remaining > 0 else []

    with _RunBar(lines) as bar:
        task = bar.add_task(inert.one_line(f"suite {name}"), total=total, completed=done)

        def advance(profile: ProfileResult) -> None:
            finished[0] += 1
            finished_jobs.add(profile.job)
            # a job's name holds the user's file name: made inert
            bar.update(
                task, advance=1, description=inert.one_line(f"suite {name}: {profile.job} {profile.status}")
            )

        yield advance
