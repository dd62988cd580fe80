"""`benchbench run`: a run folder that survives what machines do to it.

Starting a run writes `manifest.json`: the settings, every planned job, the environment, the git state of the
repository it was started in, and the device's ceilings measured once. Jobs then run in worker processes (or
Ray tasks) and each finished one is appended to `journal.jsonl` at once. When the jobs are done, or the run is
interrupted (Ctrl-C, SIGTERM), results.json and the reports are built from the manifest and the journal;
`resume_run` runs only the jobs the journal lacks, with the same settings. A full disk stops the run with one
error (exit 2) and leaves what was journalled readable.
"""

from __future__ import annotations

import dataclasses
import errno
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from benchbench.core.device import parse_device
from benchbench.core.env import capture_env, git_state
from benchbench.core.errors import BadInputError
from benchbench.core.noise import machine_state, run_noise
from benchbench.core.results import Job
from benchbench.core.schema import read, write
from benchbench.estimate.ceilings import measure_ceilings
from benchbench.measure.records import ProfileResult
from benchbench.record.run import RunResult, RunSettings
from benchbench.report.run_report import write_report
from benchbench.runs.campaign import CampaignConfig, run_campaign
from benchbench.runs.executors import make_executor
from benchbench.runs.jobs import plan_jobs
from benchbench.runs.journal import MANIFEST, RETRIED_STATUSES, Journal, lock_run_dir
from benchbench.runs.plan_check import check_plan
from benchbench.runs.progress import run_progress
from benchbench.stages import load_plugins

Log = Callable[[str], None]


@dataclass
class RunOutcome:
    """A finished or interrupted run: its folder, its results, and whether it was interrupted."""

    run_dir: Path
    result: RunResult
    interrupted: bool = False


def start_run(settings: RunSettings, out: str | Path) -> Path:
    """Plan the jobs, take the snapshot (environment, git, ceilings) and write the manifest of a new run folder."""
    parse_device(settings.device)
    jobs = plan_jobs(settings)
    check_plan(jobs, settings)
    env = capture_env(settings.device)
    run = RunResult(suite=settings.suite, device=settings.device, profiles=[], settings=settings, jobs=jobs,
                    ceilings=measure_ceilings(settings.device), git=git_state(), env=env, shard=settings.shard)  # fmt: skip
    run_dir = Path(out) / run.run_id
    try:
        run_dir.mkdir(parents=True, exist_ok=False)
        write(run_dir / MANIFEST, run)
    except OSError as e:
        shutil.rmtree(run_dir, ignore_errors=True)  # a folder without its manifest is no run: none is left
        raise _disk_error(e, run_dir) from None
    return run_dir


def load_manifest(run_dir: str | Path) -> RunResult:
    """The manifest of an existing run folder (what `--resume` runs again)."""
    run_dir = Path(run_dir)
    if not (run_dir / MANIFEST).is_file():
        raise BadInputError(
            f"{run_dir}: not a run folder (no {MANIFEST}); give the folder `benchbench run` made"
        )
    run = read(run_dir / MANIFEST, ("run",))
    if run.settings is None:
        raise BadInputError(f"{run_dir / MANIFEST}: records no run settings, so it cannot be resumed")
    return run


def check_resume_matches(
    manifest: RunResult, run_dir: str | Path, device: str | None, out: str | None
) -> None:
    """`--resume` runs the rest with the run's own settings: a --device or --out that says otherwise is refused
    (one line), never silently ignored."""
    if device is not None and str(parse_device(device)) != manifest.device:
        raise BadInputError(f"--device {device} differs from the run's device {manifest.device}; --resume runs the "
                            "rest on the run's own device: drop --device")  # fmt: skip
    if out is not None and Path(out).resolve() != Path(run_dir).resolve().parent:
        raise BadInputError(f"--out {out} is not where the run folder {run_dir} is; --resume writes into the run's "
                            "own folder: drop --out")  # fmt: skip


def execute(run_dir: str | Path, *, log: Log = print, progress: bool = True) -> RunOutcome:
    """Run the jobs of `run_dir` its journal lacks, then write results.json and the reports."""
    run_dir = Path(run_dir)
    with _stop_on_signals() as stopped:  # from the first moment to the last file written: a signal only stops
        manifest = load_manifest(run_dir)
        with lock_run_dir(run_dir):
            return _execute_locked(run_dir, manifest, log, progress, stopped)


def _todo(manifest: RunResult, journal: Journal, log: Log) -> list[Job]:
    """The jobs to run: those the journal lacks (a damaged line's job among them), and once more those whose
    only attempt crashed or timed out."""
    done = {p.job: p for p in journal.read()}
    if journal.damaged:
        log(f"damaged journal line(s) {', '.join(map(str, journal.damaged))} skipped: their jobs run again")
    retried = [k for k, p in done.items() if p.status in RETRIED_STATUSES and journal.failures[k] == 1]
    if retried:
        log(f"retrying once {len(retried)} job(s) that crashed or timed out: {', '.join(retried)}")
    return [j for j in manifest.jobs if j.key not in done or j.key in retried]


def _execute_locked(
    run_dir: Path, manifest: RunResult, log: Log, progress: bool, stopped: threading.Event
) -> RunOutcome:
    settings = manifest.settings
    load_plugins(settings.plugins)  # the stages of outside modules the run was started with (`--resume` too)
    journal = Journal(run_dir, manifest)
    todo = _todo(manifest, journal, log)
    start = time.perf_counter()
    with run_progress(
        progress, len(manifest.jobs), len(manifest.jobs) - len(todo), settings.suite, run_dir / "logs"
    ) as advance:

        def on_result(profile: ProfileResult) -> None:
            try:
                journal.append(profile)
            except OSError as e:
                raise _disk_error(e, run_dir, journal) from None
            advance(profile)

        if todo:
            make_executor(settings, run_dir).run(todo, on_result, stopped.is_set)
        campaign = None
        if settings.kernels and not stopped.is_set():
            campaign = run_campaign(
                settings.device,
                run_dir,
                CampaignConfig.for_device(settings.device, settings.campaign_budget_s),
                log=log,
            )
    result = assemble(manifest, journal.read(), campaign, run_dir, time.perf_counter() - start)
    result.noise = run_noise(result, end=machine_state())  # the start's snapshot is in the manifest's env
    try:
        write(run_dir / "results.json", result)
        write_report(result, run_dir / "report.md", fmt="md")
        write_report(result, run_dir / "report.html", fmt="html")
    except OSError as e:
        raise _disk_error(e, run_dir, journal) from None
    return RunOutcome(run_dir, result, interrupted=stopped.is_set())


def assemble(
    manifest: RunResult, profiles: list[ProfileResult], campaign, run_dir: Path, elapsed_s: float
) -> RunResult:
    """The run's results: the manifest's snapshot, the journal's profiles in plan order, the total time."""
    order = {j.key: i for i, j in enumerate(manifest.jobs)}
    previous = 0.0
    if (run_dir / "results.json").is_file():  # a resumed run adds this session's time to the earlier ones
        previous = read(run_dir / "results.json", ("run",)).elapsed_s or 0.0
    return dataclasses.replace(
        manifest, profiles=sorted(profiles, key=lambda p: order.get(p.job, len(order))),
        campaign=campaign if campaign is not None else manifest.campaign, elapsed_s=previous + elapsed_s,
    )  # fmt: skip


def run_suite(settings: RunSettings, out: str | Path = "results", **kw) -> RunOutcome:
    """Start a run of `settings` under `out` and execute it."""
    return execute(start_run(settings, out), **kw)


def _disk_error(e: OSError, run_dir: Path, journal: Journal | None = None) -> BadInputError:
    kept = f"; the {len(journal.read())} jobs journalled before stay in {journal.path}" if journal else ""
    what = "the disk is full" if e.errno in (errno.ENOSPC, errno.EDQUOT) else f"cannot write ({e.strerror})"
    resume = f"; free space, then resume with: benchbench run --resume {run_dir}" if journal else ""
    return BadInputError(f"{what} under {run_dir}{kept}{resume}")


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """Ctrl-C and SIGTERM set the event (the run stops dispatching and keeps what is done), in the main thread."""
    stopped = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stopped
        return
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for s in previous:
        signal.signal(s, lambda *_: stopped.set())
    try:
        yield stopped
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
