"""Executors run a run's jobs and hand each result back the moment it is done.

- `LocalExecutor`: N worker processes on this machine (`--workers N`; on a CUDA machine one per visible GPU,
  each pinned with CUDA_VISIBLE_DEVICES). A worker is reused for the next job; one that crashed (a signal, an
  exit, an out-of-memory kill) or ran past the job timeout is killed if need be, recorded on its job as
  `crashed` or `timeout` with the signal or exit code and the end of its log, and replaced.
- `RayExecutor`: each job a Ray task (`num_gpus=1` for GPU jobs, `num_cpus` for CPU jobs), retried once if its
  worker or node dies (Ray's own `max_retries`), at most one task per slot in flight so that a job's timeout
  counts from its start.

Both implement the `Executor` protocol and are registered by name in `EXECUTORS` (`--executor NAME`; another
executor registers with `@EXECUTORS.register("name")` on a factory `(settings, out_dir) -> Executor`). Both
call `on_result(profile)` from the driver's thread, in the order jobs finish, and stop dispatching when `stop()`
says so (Ctrl-C, SIGTERM): jobs not finished then are simply not reported.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any, Protocol

from benchbench.core.errors import BadInputError, one_line
from benchbench.core.registry import Registry
from benchbench.core.results import Job, JobOutcome
from benchbench.core.schema import validate
from benchbench.measure.records import ProfileResult
from benchbench.record.run import RunSettings
from benchbench.runs.worker import JOB_MARK, worker_main

OnResult = Callable[[ProfileResult], None]
Stop = Callable[[], bool]


class Executor(Protocol):
    """Runs jobs and hands each result to `on_result` as it comes, until the jobs are done or `stop()`."""

    def run(self, jobs: list[Job], on_result: OnResult, stop: Stop) -> None:
        """Run `jobs`, calling `on_result(profile)` for each as it finishes; return early once `stop()` is true."""
        ...


ExecutorFactory = Callable[[RunSettings, Path], Executor]
EXECUTORS: Registry[ExecutorFactory] = Registry("executor")
TAIL_LINES = 20
WORKER_START_S = 60.0  # a worker's first job also imports torch: its timeout starts counting after this


def failed_job(job: Job, settings: RunSettings, outcome: JobOutcome) -> ProfileResult:
    """The record of a job whose worker did not come back."""
    return ProfileResult(model=job.model, modality="unknown", size=job.size, batch_size=job.batch_size,
                         device=settings.device, dtype=job.dtype, outcome=outcome, job=job.key)  # fmt: skip


def log_tail(path: Path, job: Job, lines: int = TAIL_LINES) -> list[str]:
    """The last lines a worker wrote while running `job`."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return []
    mark = f"{JOB_MARK}{job.key}"
    if mark in text:
        text = text[text.rindex(mark) + len(mark) :]
    return [ln for ln in text.splitlines() if ln.strip()][-lines:]


def exit_detail(code: int | None) -> tuple[str, str | None, int | None]:
    """(detail, signal name, exit code) of a process that ended with `code` (negative: killed by a signal)."""
    if code is None:
        return "did not exit", None, None
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"killed by {name}", name, None
    return f"exited with code {code}", None, code


@dataclass
class _Slot:
    index: int
    env: dict[str, str]
    log: Path
    threads: int | None
    proc: Any = None
    conn: Any = None
    job: Job | None = None
    started: float = 0.0
    fresh: bool = True  # no job finished in this process yet (its first job pays the imports)


@EXECUTORS.register("local")
class LocalExecutor:
    """Jobs in worker processes on this machine (their logs under `log_dir`, by default `out_dir/logs`)."""

    def __init__(self, settings: RunSettings, out_dir: Path, log_dir: Path | None = None) -> None:
        self.settings, self.out_dir = settings, out_dir
        log_dir = log_dir if log_dir is not None else out_dir / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        cuda = settings.device.startswith("cuda")
        n = settings.workers
        cores = os.cpu_count() or 1
        self.slots = [
            _Slot(i, {"CUDA_VISIBLE_DEVICES": str(i)} if cuda and settings.device == "cuda" else {},
                  log_dir / f"worker-{i}.log", None if cuda else max(1, cores // n))
            for i in range(n)
        ]  # fmt: skip
        self.ctx = multiprocessing.get_context("spawn")

    def _start(self, slot: _Slot) -> None:
        parent, child = self.ctx.Pipe()
        slot.proc = self.ctx.Process(target=worker_main, args=(child, str(slot.log), slot.env, slot.threads, os.getpid()),
                                     name=f"benchbench-worker-{slot.index}", daemon=True)  # fmt: skip
        slot.proc.start()
        child.close()
        slot.conn, slot.fresh = parent, True

    def _retire(self, slot: _Slot) -> None:
        if slot.proc is not None and slot.proc.is_alive():
            slot.proc.kill()
        if slot.proc is not None:
            slot.proc.join(5)
        if slot.conn is not None:
            slot.conn.close()
        slot.proc = slot.conn = slot.job = None

    def _finish(self, slot: _Slot, on_result: OnResult) -> None:
        """Take the busy slot's result, or record why there is none."""
        job, elapsed = slot.job, time.monotonic() - slot.started
        assert job is not None
        try:
            data = slot.conn.recv()
        except (EOFError, OSError):
            slot.proc.join(5)
            detail, sig, code = exit_detail(slot.proc.exitcode)
            outcome = JobOutcome(
                "crashed", f"the worker {detail}", sig, code, log_tail(slot.log, job), elapsed
            )
            self._retire(slot)
            on_result(failed_job(job, self.settings, outcome))
            return
        slot.job, slot.fresh = None, False
        on_result(validate(ProfileResult, data, f"worker {slot.index} result of {job.key}"))

    def _timed_out(self, slot: _Slot, now: float) -> bool:
        limit = self.settings.job_timeout_s + (WORKER_START_S if slot.fresh else 0.0)
        return slot.job is not None and now - slot.started > limit

    def run(self, jobs: list[Job], on_result: OnResult, stop: Stop) -> None:
        """Run `jobs` in the worker processes, calling `on_result` as each finishes (crashes and timeouts included) until done or `stop()`."""
        pending = deque(jobs)
        try:
            while pending or any(s.job for s in self.slots):
                if stop():
                    return
                for slot in self.slots:
                    if slot.job is None and pending:
                        if slot.proc is None:
                            self._start(slot)
                        slot.job, slot.started = pending.popleft(), time.monotonic()
                        slot.conn.send((slot.job, self.settings, str(self.out_dir)))
                busy = [s for s in self.slots if s.job is not None]
                wait([s.conn for s in busy] + [s.proc.sentinel for s in busy], timeout=0.25)
                now = time.monotonic()
                for slot in busy:
                    if slot.conn.poll() or not slot.proc.is_alive():
                        self._finish(slot, on_result)
                    elif self._timed_out(slot, now):
                        job, elapsed = slot.job, now - slot.started
                        self._retire(slot)
                        outcome = JobOutcome("timeout", f"ran past the {self.settings.job_timeout_s:g} s job timeout",
                                             elapsed_s=elapsed, stderr_tail=log_tail(slot.log, job))  # fmt: skip
                        on_result(failed_job(job, self.settings, outcome))
        finally:
            for slot in self.slots:
                if slot.proc is not None and slot.proc.is_alive() and slot.job is None:
                    try:
                        slot.conn.send(None)
                        slot.proc.join(5)
                    except OSError:
                        pass
                self._retire(slot)


def _ray_job(job: Job, settings: RunSettings, out_dir: str, cwd: str) -> dict:
    """A job inside a Ray worker: the driver's working directory importable (user factories), files kept."""
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    from benchbench.core.files import to_jsonable
    from benchbench.runs.jobs import run_job

    try:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
    except OSError:  # a node without the driver's filesystem keeps its files in its own temp folder
        out_dir = str(Path(tempfile.gettempdir()) / "benchbench" / Path(out_dir).name)
    return to_jsonable(run_job(job, settings, Path(out_dir)))


@EXECUTORS.register("ray")
class RayExecutor:
    """Jobs as Ray tasks on a cluster (`ray_address`) or a local Ray instance started for the run."""

    def __init__(self, settings: RunSettings, out_dir: Path) -> None:
        try:
            import ray
        except ImportError:
            raise BadInputError("--executor ray needs Ray: pip install 'benchbench[ray]'") from None
        self.ray, self.settings, self.out_dir = ray, settings, out_dir

    def run(self, jobs: list[Job], on_result: OnResult, stop: Stop) -> None:
        """Run `jobs` as Ray tasks (starting a local Ray, or joining `--ray-address`), calling `on_result` as each finishes, until done or `stop()`."""
        ray, s = self.ray, self.settings
        started_here = not ray.is_initialized()
        if started_here:
            try:
                if s.ray_address:
                    ray.init(address=s.ray_address, log_to_driver=False)
                else:
                    ray.init(log_to_driver=False, include_dashboard=False)
            except Exception as exc:  # no cluster at that address, a port in use, ...
                raise BadInputError(f"cannot start or reach Ray{f' at {s.ray_address}' if s.ray_address else ''}: "
                                    f"{one_line(exc)}") from None  # fmt: skip
        gpu = s.device.startswith("cuda")
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)) // max(1, s.workers)) if not gpu else 1
        slots = int(ray.cluster_resources().get("GPU" if gpu else "CPU", 1)) // (1 if gpu else cpus)
        task = ray.remote(num_cpus=cpus, num_gpus=1 if gpu else 0, max_retries=1)(_ray_job)
        pending, in_flight = deque(jobs), {}
        cwd = os.getcwd()
        try:
            while pending or in_flight:
                if stop():
                    for ref in in_flight:
                        ray.cancel(ref, force=True)
                    return
                while pending and len(in_flight) < max(1, slots):
                    job = pending.popleft()
                    in_flight[task.remote(job, s, str(self.out_dir), cwd)] = (job, time.monotonic())
                done, _ = ray.wait(list(in_flight), num_returns=1, timeout=0.25)
                for ref in done:
                    job, started = in_flight.pop(ref)
                    try:
                        on_result(validate(ProfileResult, ray.get(ref), f"Ray result of {job.key}"))
                    except ray.exceptions.RayError as exc:
                        outcome = JobOutcome("crashed", f"the Ray task failed: {one_line(exc)}",
                                             elapsed_s=time.monotonic() - started)  # fmt: skip
                        on_result(failed_job(job, s, outcome))
                now = time.monotonic()
                for ref, (job, started) in list(in_flight.items()):
                    if now - started > s.job_timeout_s + WORKER_START_S:
                        ray.cancel(ref, force=True)
                        in_flight.pop(ref)
                        outcome = JobOutcome("timeout", f"ran past the {s.job_timeout_s:g} s job timeout",
                                             elapsed_s=now - started)  # fmt: skip
                        on_result(failed_job(job, s, outcome))
        finally:
            if started_here:
                ray.shutdown()


def make_executor(settings: RunSettings, out_dir: Path) -> Executor:
    """The executor the settings name, for a run writing under `out_dir`."""
    return EXECUTORS.get(settings.executor)(settings, out_dir)
