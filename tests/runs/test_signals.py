"""The 130 contract under signals: SIGTERM from the first moment, Ctrl-C pressed three times, and a `kill -9` of
the run, after which its workers end at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchbench.record.run import load_run
from benchbench.runs.journal import JOURNAL
from benchbench.runs.worker import JOB_MARK

ROOT = Path(__file__).resolve().parents[2]
CRASHING = "tests.runs.crashing_models"


def _start(*args: str, cwd: Path = ROOT) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "benchbench", *args, "--no-history"], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def _catches(pid: int, sig: signal.Signals) -> bool:
    """Whether process `pid` has a handler for `sig` (its SigCgt mask in /proc)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    mask = int(next(ln.split()[1] for ln in status.splitlines() if ln.startswith("SigCgt:")), 16)
    return bool(mask >> (sig - 1) & 1)


def _wait(cond, proc: subprocess.Popen, limit_s: float = 180) -> None:
    deadline = time.monotonic() + limit_s
    while not cond():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads signal masks from /proc")
def test_sigterm_in_the_first_moment_is_an_interruption(tmp_path):
    proc = _start("run", "--suite", "smoke", "--models", "mlp", "--out", str(tmp_path / "o"))
    _wait(lambda: _catches(proc.pid, signal.SIGTERM), proc)  # as soon as benchbench's main has begun
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in out + err and err.strip().count("\n") == 0


@pytest.mark.slow
def test_three_quick_ctrl_c_keep_results_report_and_the_resume_line(tmp_path):
    out_dir = tmp_path / "o"
    proc = _start("run", "--suite", "smoke", "--models", "mlp,resnet18,bert", "--out", str(out_dir))
    _wait(lambda: any(p.read_text().strip() for p in out_dir.glob(f"*/{JOURNAL}")), proc)
    for _ in range(3):
        proc.send_signal(signal.SIGINT)
        time.sleep(0.1)
    out, err = proc.communicate(timeout=180)
    (run_dir,) = out_dir.iterdir()
    assert proc.returncode == 130, err
    assert f"benchbench run --resume {run_dir}" in out.replace("\n", "") and "Traceback" not in err
    assert (
        load_run(run_dir).profiles
        and (run_dir / "report.md").is_file()
        and (run_dir / "report.html").is_file()
    )


def _children(pid: int) -> list[int]:
    found = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in found.split()]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ")[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the worker through ps --ppid")
def test_the_workers_die_with_a_killed_run(tmp_path):
    out_dir = tmp_path / "o"
    proc = _start("run", "--suite", "smoke", "--models", f"{CRASHING}:hangs", "--out", str(out_dir))
    _wait(lambda: any(JOB_MARK in p.read_text() for p in out_dir.glob("*/logs/worker-*.log")), proc)
    workers = _children(proc.pid)
    assert workers
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    deadline = time.monotonic() + 5
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [w for w in workers if _alive(w)]
    for w in left:  # clean up before failing
        os.kill(w, signal.SIGKILL)
    assert not left, "a worker outlived the killed run by more than 5 s"
