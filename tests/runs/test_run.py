"""`benchbench run` survives what machines do: crashing and hanging models, kill -9 and resume, Ctrl-C, a full
disk; takes user models; and re-renders a report byte for byte."""

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
from benchbench.core.progress import read_status
from benchbench.record.run import load_run
from benchbench.report.run_report import write_report
from benchbench.runs.journal import JOURNAL, MANIFEST

ROOT = Path(__file__).resolve().parents[2]
CRASHING = "tests.runs.crashing_models"


def _run_dir(out: Path) -> Path:
    (run_dir,) = [p for p in out.iterdir() if p.is_dir()]
    return run_dir


def _journal_jobs(run_dir: Path) -> list[str]:
    return [json.loads(line)["job"] for line in (run_dir / JOURNAL).read_text().splitlines() if line.strip()]


def test_a_segfaulting_model_is_recorded_and_the_run_goes_on(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)  # the user model is imported as tests.runs.crashing_models, as a user would
    models = f"mlp,resnet18,{CRASHING}:segfault,bert"
    assert (
        main(["run", "--suite", "smoke", "--models", models, "--out", str(tmp_path)]) == 1
    )  # a model failed
    run = load_run(_run_dir(tmp_path))
    by_model = {p.model: p for p in run.profiles}
    assert [p.model for p in run.profiles] == ["mlp", "resnet18", f"{CRASHING}:segfault", "bert"]
    crashed = by_model[f"{CRASHING}:segfault"]
    assert crashed.status == "crashed" and crashed.outcome.signal == "SIGSEGV"
    assert "killed by SIGSEGV" in crashed.outcome.detail
    for name in ("mlp", "resnet18", "bert"):
        assert by_model[name].ok and by_model[name].params.total > 0 and by_model[name].flops.macs > 0
    assert "crashed" in (_run_dir(tmp_path) / "report.md").read_text()


def test_an_exit_and_a_hang_are_recorded_with_their_code_and_timeout(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    models = f"{CRASHING}:exits,{CRASHING}:hangs,{CRASHING}:fine"
    code = main(["run", "--suite", "smoke", "--models", models, "--job-timeout", "3", "--out", str(tmp_path)])
    assert code == 1
    by_model = {p.model: p for p in load_run(_run_dir(tmp_path)).profiles}
    exited, hung = by_model[f"{CRASHING}:exits"], by_model[f"{CRASHING}:hangs"]
    assert exited.status == "crashed" and exited.outcome.exit_code == 3
    assert hung.status == "timeout" and "3 s job timeout" in hung.outcome.detail
    assert by_model[f"{CRASHING}:fine"].ok  # the workers were replaced and the run went on


def _start(args: list[str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "benchbench", *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)  # fmt: skip


def _wait_for_journal(out: Path, lines: int, proc: subprocess.Popen, limit_s: float = 180) -> Path:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        dirs = [p for p in out.iterdir() if p.is_dir()] if out.exists() else []
        if dirs and (dirs[0] / JOURNAL).exists() and len(_journal_jobs(dirs[0])) >= lines:
            return dirs[0]
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.2)
    raise AssertionError(f"no {lines} journal lines within {limit_s} s")


def test_kill_9_then_resume_runs_each_job_exactly_once(tmp_path):
    out = tmp_path / "out"
    models = "mlp,resnet18,bert"
    proc = _start(["run", "--suite", "smoke", "--models", models, "--out", str(out)], ROOT)
    run_dir = _wait_for_journal(out, 1, proc)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and its workers, as an OOM killer or a lost node would
    proc.wait()
    before = _journal_jobs(run_dir)
    assert before and not (run_dir / "results.json").exists()
    assert main(["run", "--resume", str(run_dir)]) == 0
    after = _journal_jobs(run_dir)
    assert after[: len(before)] == before  # what was done is kept, not run again
    assert sorted(after) == sorted(set(after)) and len(after) == 3  # every job once
    run = load_run(run_dir)
    assert [p.model for p in run.profiles] == ["mlp", "resnet18", "bert"] and not run.missing


def test_ctrl_c_keeps_what_is_done_says_how_to_resume_and_exits_130(tmp_path):
    out = tmp_path / "out"
    proc = _start(
        ["run", "--suite", "smoke", "--models", "mlp,resnet18,bert,tabnet,gcn,pointnet", "--out", str(out)],
        ROOT,
    )
    run_dir = _wait_for_journal(out, 1, proc)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert f"benchbench run --resume {run_dir}" in stdout.replace("\n", "") and "Traceback" not in stderr
    run = load_run(run_dir)
    assert run.profiles and run.missing  # partial results and report written, the rest named
    assert (run_dir / "report.html").is_file()
    assert main(["run", "--resume", str(run_dir)]) == 0
    assert not load_run(run_dir).missing


def test_two_workers_run_side_by_side_with_the_same_records(tmp_path):
    assert main(["run", "--suite", "smoke", "--workers", "2", "--out", str(tmp_path / "two")]) == 0
    run_dir = _run_dir(tmp_path / "two")
    assert sorted(p.name for p in (run_dir / "logs").glob("*.log")) == ["worker-0.log", "worker-1.log"]
    run = load_run(run_dir)
    assert [p.model for p in run.profiles] == ["mlp", "resnet18", "bert"] and all(p.ok for p in run.profiles)
    # each worker said which job and stage it was in: what the progress display shows
    statuses = [read_status(p) for p in (run_dir / "logs").glob("*.status")]
    assert statuses and all(s is not None and s.job in {p.job for p in run.profiles} for s in statuses)
    assert {p.latency.threads for p in run.profiles} == {max(1, (os.cpu_count() or 1) // 2)}


def _can_mount_tmpfs(path: Path) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    ok = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=160k", "tmpfs", str(path)], capture_output=True)
    return ok.returncode == 0


def test_a_full_disk_is_one_error_and_the_journal_stays_readable(tmp_path, capsys):
    disk = tmp_path / "disk"
    if not _can_mount_tmpfs(disk):
        pytest.skip("needs root to mount a small tmpfs (a real full disk)")
    try:
        code = main(["run", "--suite", "smoke", "--models", "mlp,resnet18,bert", "--out", str(disk)])
        err = capsys.readouterr().err.strip()
        assert code == 2 and err.count("\n") == 0 and "the disk is full" in err and "--resume" in err
        run_dir = _run_dir(disk)
        assert (run_dir / MANIFEST).is_file()
        lines = (run_dir / JOURNAL).read_text().splitlines() if (run_dir / JOURNAL).exists() else []
        assert all(json.loads(line)["profile"]["model"] for line in lines)  # every journalled line is whole
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_re_rendering_a_report_changes_no_byte(tmp_path):
    assert main(["run", "--suite", "smoke", "--models", "mlp", "--out", str(tmp_path)]) == 0
    run_dir = _run_dir(tmp_path)
    run = load_run(run_dir)
    first = write_report(run, tmp_path / "a.html", fmt="html").read_bytes()
    second = write_report(load_run(run_dir), tmp_path / "b.html", fmt="html").read_bytes()
    assert first == second and b"<svg" in first and b"roofline" in first
    assert run.ceilings is not None and run.settings.models == ["mlp"] and run.git is not None


def test_user_models_mix_with_zoo_globs_and_get_a_card(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    code = main(["run", "--suite", "smoke", "--models", f"resnet18,{CRASHING}:fine", "--out", str(tmp_path)])
    assert code == 0
    assert [p.model for p in load_run(_run_dir(tmp_path)).profiles] == ["resnet18", f"{CRASHING}:fine"]
    card = tmp_path / "card.md"
    assert (
        main(["card", f"{CRASHING}:fine", "--modality", "tabular", "--no-scaling", "--out", str(card)]) == 0
    )
    text = card.read_text()
    for title in ("Task description", "Architecture diagram", "Parameter count", "Training recipe",
                  "Baseline comparison", "Compute estimate", "Scaling plan"):  # fmt: skip
        assert f"## {title}" in text
    assert "| mlp |" in text or "No simpler tabular model" in text


@pytest.mark.parametrize(
    "text, needle",
    [
        ("models = []", "key 'models' must be a non-empty list"),
        ('models = ["mlp"]\nbatch_sizes = [0]', "key 'batch_sizes' takes positive integers"),
        ('models = ["mlp"]\ndtypes = ["float8"]', "unknown dtype 'float8'"),
        ('models = ["mlp"]\nstages = ["compile"]', "unknown stage 'compile'"),
        ('models = ["mlp"]\njob_timeout_s = -1', "key 'job_timeout_s' must be a finite number > 0"),
        ('models = ["mlp"]\ncolour = "red"', "unknown key 'colour'"),
        ('models = ["mlp"]\n[timing]\nwarmup = 1.5', "key timing.warmup must be an integer"),
        ('models = ["nosuch*"]', "matches no zoo model"),
        ("models = [", "not valid TOML"),
        ('models = ["mlp"]\nsizes = ["gigantic"]', "unknown size for mlp: 'gigantic'; allowed: base, tiny"),
        ('models = ["mlp"]\nbatch_sizes = [100000000000]', "is more than 1048576"),
        ('models = ["$(touch x):f"]', "'$(touch x)' is not a module path"),
        ('models = ["no_such_pkg_27.models:make"]', "no module 'no_such_pkg_27' can be found"),
    ],
)
def test_a_bad_suite_file_is_one_line_before_any_work(text, needle, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # where `$(touch x)` would have made x
    f = tmp_path / "suite.toml"
    f.write_text(text)
    assert main(["run", "--suite-file", str(f), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and "\n" not in err
    assert not (tmp_path / "out").exists()  # refused before a run folder was made
    assert not (tmp_path / "x").exists()


def test_a_suite_file_sets_batch_sizes_dtypes_and_stages(tmp_path):
    f = tmp_path / "nightly.toml"
    f.write_text('name = "nightly"\nmodels = ["mlp"]\nbatch_sizes = [1, 3]\ndtypes = ["fp32"]\nstages = []\n'
                 "job_timeout_s = 120\n[timing]\nwarmup = 1\nmin_repeats = 3\nmin_time_s = 0.0\n")  # fmt: skip
    assert main(["run", "--suite-file", str(f), "--out", str(tmp_path / "out")]) == 0
    run = load_run(_run_dir(tmp_path / "out"))
    assert run.suite == "nightly" and [(p.batch_size, p.dtype) for p in run.profiles] == [
        (1, "float32"),
        (3, "float32"),
    ]
    assert run.settings.timing.min_repeats == 3 and run.settings.job_timeout_s == 120
