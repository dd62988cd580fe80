"""The run journal: appends all or nothing (a torn write on a full tmpfs is cut back), a damaged line costs only
its job, lines of another run are refused, and a run folder is worked on by one process at a time."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchbench.cli import main
from benchbench.core.errors import BadInputError
from benchbench.core.results import Job
from benchbench.core.schema import write
from benchbench.measure.records import ProfileResult
from benchbench.record.run import RunResult, RunSettings, load_run
from benchbench.runs.journal import JOURNAL, LOCK, Journal, lock_run_dir

JOBS = [Job("mlp", "tiny", b, "float32") for b in (1, 2, 3)]


def _manifest() -> RunResult:
    settings = RunSettings("t", ["mlp"], ["tiny"], [1, 2, 3], ["float32"], [], {}, 60.0)
    return RunResult(suite="t", device="cpu", profiles=[], jobs=list(JOBS), settings=settings)


def _profile(job: Job, note: str = "") -> ProfileResult:
    return ProfileResult(job.model, "tabular", job.size, job.batch_size, "cpu", job.dtype, job=job.key,
                         diagram=note or None)  # fmt: skip


def _journal(tmp_path: Path, manifest: RunResult | None = None) -> Journal:
    journal = Journal(tmp_path, manifest or _manifest())
    for job in JOBS:
        journal.append(_profile(job))
    return journal


def test_a_damaged_middle_line_costs_only_its_job(tmp_path):
    manifest = _manifest()
    journal = _journal(tmp_path, manifest)
    lines = (tmp_path / JOURNAL).read_text().splitlines()
    lines[1] = lines[1][: len(lines[1]) // 2] + "GARBAGE"  # line 2 torn in the middle, the others intact
    (tmp_path / JOURNAL).write_text("\n".join(lines) + "\n")
    journal = Journal(tmp_path, manifest)
    assert [p.job for p in journal.read()] == [JOBS[0].key, JOBS[2].key] and journal.damaged == [2]


@pytest.mark.parametrize(
    "change, needle",
    [
        (lambda e: e.update(run="20260101T000000Z-abcdef"), "belongs to run '20260101T000000Z-abcdef'"),
        (lambda e: e.update(schema_version=99), "has schema version 99"),
        (lambda e: e.update(job="resnet18 tiny bs1 float32"), "which the run's manifest does not plan"),
    ],
)
def test_a_line_of_another_run_is_refused(tmp_path, change, needle):
    manifest = _manifest()
    _journal(tmp_path, manifest)
    entry = json.loads((tmp_path / JOURNAL).read_text().splitlines()[0])
    change(entry)
    with open(tmp_path / JOURNAL, "a") as f:
        f.write(json.dumps(entry) + "\n")
    with pytest.raises(BadInputError, match="remove the line") as refused:
        Journal(tmp_path, manifest).read()
    assert needle in str(refused.value)


def _mount_tmpfs(path: Path, size: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True).returncode == 0  # fmt: skip


def _fill(folder: Path) -> Path:
    """A file that takes every free byte of `folder`'s file system."""
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as f:
        for chunk in (4096, 1):
            try:
                while True:
                    f.write(b"\0" * chunk)
            except OSError:
                pass
    return filler


def test_an_append_torn_by_a_full_disk_is_cut_back_and_the_next_one_is_whole(tmp_path):
    disk = tmp_path / "disk"
    if not _mount_tmpfs(disk, "64k"):
        pytest.skip("needs root to mount a small tmpfs (a real full disk)")
    try:
        manifest = _manifest()
        journal = Journal(disk, manifest)
        journal.append(_profile(JOBS[0]))
        before = (disk / JOURNAL).stat().st_size
        filler = _fill(disk)
        with pytest.raises(OSError):  # ENOSPC, after a short write or none
            journal.append(_profile(JOBS[1], note="x" * 20000))
        assert (disk / JOURNAL).stat().st_size == before  # cut back: no partial line left
        filler.unlink()  # space freed
        journal.append(_profile(JOBS[1]))
        journal.append(_profile(JOBS[2]))
        assert [p.job for p in Journal(disk, manifest).read()] == [j.key for j in JOBS]
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_a_folder_held_by_another_process_is_refused(tmp_path, cli):
    write(tmp_path / "manifest.json", _manifest())
    with lock_run_dir(tmp_path):
        code, _, err = cli(["run", "--resume", str(tmp_path), "--no-history"])
    assert code == 2 and f"being run by another benchbench process (pid {os.getpid()})" in err


# ---- end to end: real runs of a three-job suite --------------------------------------------------------------

SUITE = ('name = "three"\nmodels = ["mlp"]\nbatch_sizes = [1, 2, 3]\nstages = []\njob_timeout_s = 120\n'
         "[timing]\nwarmup = 1\nmin_repeats = 3\nmin_time_s = 0.0\n")  # fmt: skip


def _benchbench(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "benchbench", *args, "--no-history"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip


def _jobs(run_dir: Path) -> list[str]:
    return [json.loads(line)["job"] for line in (run_dir / JOURNAL).read_text().splitlines()]


@pytest.mark.slow
def test_a_damaged_line_reruns_its_job_only_and_two_resumes_never_run_a_job_twice(tmp_path):
    (tmp_path / "s.toml").write_text(SUITE)
    assert (
        main(["run", "--suite-file", str(tmp_path / "s.toml"), "--out", str(tmp_path / "o"), "--no-history"])
        == 0
    )
    (run_dir,) = (tmp_path / "o").iterdir()
    lines = (run_dir / JOURNAL).read_text().splitlines()
    (run_dir / JOURNAL).write_text(
        "\n".join([lines[0], "{not json", lines[2]]) + "\n"
    )  # the middle job damaged
    assert main(["run", "--resume", str(run_dir), "--no-history"]) == 0
    assert _jobs_parsed(run_dir) == [JOBS[0].key, JOBS[2].key, JOBS[1].key]  # only the damaged job ran again
    assert len(load_run(run_dir).profiles) == 3

    (run_dir / JOURNAL).write_text("\n".join(lines[:2]) + "\n")  # the last job missing; two resumes at once
    first = _benchbench("run", "--resume", str(run_dir))
    deadline = time.monotonic() + 120
    while (run_dir / LOCK).read_text().strip() != str(first.pid) and time.monotonic() < deadline:
        assert first.poll() is None, first.communicate()
        time.sleep(0.05)
    first.send_signal(
        signal.SIGSTOP
    )  # the first holds the folder (and stays on it, however slow the machine)
    try:
        second = _benchbench("run", "--resume", str(run_dir))
        _, err2 = second.communicate(timeout=300)
    finally:
        first.send_signal(signal.SIGCONT)
    _, err1 = first.communicate(timeout=300)
    assert second.returncode == 2 and f"being run by another benchbench process (pid {first.pid})" in err2, (
        err2
    )
    assert first.returncode == 0, err1
    assert sorted(_jobs(run_dir)) == sorted(j.key for j in JOBS)  # each job exactly once


def _jobs_parsed(run_dir: Path) -> list[str]:
    out = []
    for line in (run_dir / JOURNAL).read_text().splitlines():
        try:
            out.append(json.loads(line)["job"])
        except json.JSONDecodeError:
            continue
    return out


@pytest.mark.slow
def test_a_run_torn_by_a_full_disk_resumes_with_every_job_exactly_once(tmp_path):
    disk = tmp_path / "disk"
    if not _mount_tmpfs(disk, "4m"):
        pytest.skip("needs root to mount a small tmpfs (a real full disk)")
    try:
        (tmp_path / "s.toml").write_text(SUITE)
        proc = _benchbench("run", "--suite-file", str(tmp_path / "s.toml"), "--out", str(disk))
        deadline = time.monotonic() + 180
        while not list(disk.glob(f"*/{JOURNAL}")) and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        filler = _fill(disk)  # the disk fills up while the run is under way
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 2 and "the disk is full" in err and err.count("\n") == 1, err
        (run_dir,) = [p for p in disk.iterdir() if p.is_dir()]
        assert all(json.loads(line) for line in (run_dir / JOURNAL).read_text().splitlines())  # no torn line
        filler.unlink()  # space freed
        assert main(["run", "--resume", str(run_dir), "--no-history"]) == 0
        run = load_run(run_dir)
        assert sorted(p.job for p in run.profiles) == sorted(j.key for j in JOBS) and all(
            p.ok for p in run.profiles
        )
        assert all(json.loads(line) for line in (run_dir / JOURNAL).read_text().splitlines())
    finally:
        subprocess.run(["umount", str(disk)], check=False)


# ---- resume settings, workers, a full disk at start -----------------------------------------------------------


def _run_folder(tmp_path: Path, device: str = "cpu") -> Path:
    manifest = _manifest()
    manifest.device = device
    folder = tmp_path / "out" / manifest.run_id
    write(folder / "manifest.json", manifest)
    return folder


@pytest.mark.parametrize(
    "device, option, needle",
    [("cuda", ["--device", "cpu"], "--device cpu differs from the run's device cuda"),
     ("cpu", ["--out", "elsewhere"], "is not where the run folder")],
)  # fmt: skip
def test_resume_refuses_a_device_or_out_that_differs_from_the_run(tmp_path, cli, device, option, needle):
    code, _, err = cli(["run", "--resume", str(_run_folder(tmp_path, device)), *option, "--no-history"])
    assert code == 2 and needle in err


def test_resume_takes_the_same_out_and_device(tmp_path, cli, monkeypatch):
    folder = _run_folder(tmp_path)
    monkeypatch.setattr(
        "benchbench.runs.run.execute", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt)
    )
    argv = ["run", "--resume", str(folder), "--device", "cpu", "--out", str(folder.parent), "--no-history"]
    assert cli(argv)[0] == 130  # past the checks, into the run itself (stopped there)


def test_workers_beyond_four_per_cpu_are_refused_before_a_folder_is_made(tmp_path, cli):
    code, _, err = cli(
        ["run", "--suite", "smoke", "--workers", "100000", "--out", str(tmp_path / "o"), "--no-history"]
    )
    assert code == 2 and "--workers 100000 is more than" in err and not (tmp_path / "o").exists()


def test_a_full_disk_at_start_leaves_no_empty_run_folder(tmp_path, cli):
    disk = tmp_path / "disk"
    if not _mount_tmpfs(disk, "64k"):
        pytest.skip("needs root to mount a small tmpfs (a real full disk)")
    try:
        _fill(disk)
        code, _, err = cli(
            ["run", "--suite", "smoke", "--models", "mlp", "--out", str(disk / "o"), "--no-history"]
        )
        assert code == 2 and ("disk is full" in err or "No space" in err), err
        assert not (disk / "o").exists() or not list((disk / "o").iterdir())  # no empty run folder left
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_a_crashed_or_timed_out_job_is_retried_once_on_resume_and_said_so(tmp_path):
    from benchbench.core.results import JobOutcome
    from benchbench.runs.run import _todo

    manifest = _manifest()
    journal = Journal(tmp_path, manifest)
    crashed = _profile(JOBS[0])
    crashed.outcome = JobOutcome("crashed", "the worker killed by SIGSEGV", "SIGSEGV")
    timed_out = _profile(JOBS[1])
    timed_out.outcome = JobOutcome("timeout", "ran past the 1 s job timeout")
    for p in (crashed, timed_out, _profile(JOBS[2])):
        journal.append(p)
    said: list[str] = []
    assert [j.key for j in _todo(manifest, journal, said.append)] == [JOBS[0].key, JOBS[1].key]
    assert "retrying once 2 job(s) that crashed or timed out" in said[0]
    journal.append(crashed)  # it crashed again on the retry: not a third time
    assert [j.key for j in _todo(manifest, journal, said.append)] == [JOBS[1].key]
