"""The error contract, one regression test per input that once gave a traceback, a wrong exit code or unsafe
output: exit 0 ok, 1 a check failed, 2 bad input or environment (one line), 3 internal (one line and a log)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from benchbench.core.results import StageError
from benchbench.core.schema import SCHEMA_VERSION, write
from benchbench.measure.records import LatencyStats, ParamCount, ProfileResult
from benchbench.record.run import RunResult

ROOT = Path(__file__).resolve().parents[2]


def _run(tmp_path: Path, models: list[str], error: str | None = None) -> Path:
    lat = LatencyStats.from_samples([1.0, 1.1, 1.2, 0.9, 1.0])
    profiles = []
    for m in models:
        p = ProfileResult(
            m, "image", "tiny", 1, "cpu", "float32", params=ParamCount(10, 10, {}, 40), latency=lat
        )
        if error:
            p.errors.append(StageError("export", error, "RuntimeError"))
        profiles.append(p)
    folder = tmp_path / "run"
    write(folder / "results.json", RunResult("test", "cpu", profiles))
    return folder


def _budgets(tmp_path: Path, text: str) -> Path:
    f = tmp_path / "b.toml"
    f.write_text(text)
    return f


# ---- results, budgets and pytest-benchmark files ------------------------------------------------------


@pytest.mark.parametrize(
    "content, needle",
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00binary", "not a text (JSON) file"),
        (json.dumps({"schema_version": SCHEMA_VERSION, "kind": "run", "suite": "s", "device": "cpu", "profiles": None}),
         "key profiles: Input should be a valid list"),
        (json.dumps({"schema_version": SCHEMA_VERSION, "kind": "run", "suite": "s", "device": "cpu", "profiles": [
            {"model": "m", "modality": "image", "size": "tiny", "batch_size": 1, "device": "cpu", "dtype": "float32",
             "latency": {"n": 1, "mean_ms": 1, "stdev_ms": 0, "min_ms": 1, "p50_ms": "fast", "p90_ms": 1, "p99_ms": 1,
                         "max_ms": 1, "batch_size": 1, "throughput_per_s": 1, "device": "cpu", "threads": 1}}]}),
         "key profiles.0.latency.p50_ms"),
        (json.dumps([1, 2, 3]), "expected a JSON object"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("command", ["report", "gate", "compare", "history-add"])
def test_a_corrupt_or_foreign_results_file_is_one_line(cli, tmp_path, content, needle, command):
    f = tmp_path / "results.json"
    f.write_bytes(content if isinstance(content, bytes) else content.encode())
    argv = {"report": ["report", str(f)], "gate": ["gate", str(f), "--budgets", str(_budgets(tmp_path, "[[budget]]\np50_ms = 5\n"))],
            "compare": ["compare", str(f), str(f)], "history-add": ["history", "add", str(f), "--db", str(tmp_path / "h.sqlite")]}[command]  # fmt: skip
    code, _, err = cli(argv)
    assert code == 2 and needle in err and str(f) in err


def test_a_shard_of_1_of_0_is_refused_by_merge(cli, tmp_path):
    folders = []
    for i, shard in enumerate(("1/0", "1/0")):
        folder = tmp_path / f"s{i}"
        write(folder / "results.json", RunResult("test", "cpu", [], shard=shard))
        folders.append(str(folder))
    code, _, err = cli(["merge", *folders, "--out", str(tmp_path / "m"), "--no-history"])
    assert code == 2 and "shard '1/0': need 1 <= I <= N" in err


def test_a_pytest_benchmark_json_missing_min_is_one_line(cli, tmp_path):
    f = tmp_path / "bench.json"
    f.write_text(
        json.dumps(
            {"machine_info": {}, "benchmarks": [{"name": "t", "stats": {"max": 1, "mean": 1, "median": 1}}]}
        )
    )
    code, _, err = cli(["gate", str(f), "--budgets", str(_budgets(tmp_path, "[[budget]]\np50_ms = 5\n"))])
    assert code == 2 and "benchmarks.0.stats.min: Field required" in err


@pytest.mark.parametrize(
    "text, needle",
    [
        (b"\xff\xfe\x00binary budgets", "not a text (TOML) file"),
        (b"[[budget]]\np50_ms = inf\n", "must be a finite number > 0, got inf"),
        (b"[[budget]]\np50_ms = 1e400\n", "must be a finite number > 0, got inf"),
        (b"[[budget]]\np50_ms = nan\n", "must be a finite number > 0, got nan"),
    ],
)
def test_a_bad_budgets_file_is_one_line(cli, tmp_path, text, needle):
    f = tmp_path / "b.toml"
    f.write_bytes(text)
    code, _, err = cli(["gate", str(_run(tmp_path, ["m"])), "--budgets", str(f)])
    assert code == 2 and needle in err


def test_a_foreign_sqlite_file_is_one_line(cli, tmp_path):
    db = tmp_path / "x.sqlite"
    import sqlite3

    sqlite3.connect(db).executescript("CREATE TABLE t (a INTEGER);")
    code, _, err = cli(["history", "--db", str(db)])
    assert code == 2 and "not a benchbench history database" in err


# ---- user models -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source, needle",
    [
        ("def make(:\n", "SyntaxError"),
        ("raise RuntimeError('boom at import [/]')\n", "boom at import [/]"),
        ("import torch\nclass M(torch.nn.Module):\n    def forward(self, x): return x\n"
         "    def example_inputs(self, batch_size): raise ValueError('no inputs [/red]')\n"
         "def make(batch_size=1):\n    return M()\n", "making its example inputs raised ValueError: no inputs [/red]"),
    ],
)  # fmt: skip
def test_a_user_module_that_fails_is_one_line(cli, tmp_path, source, needle):
    f = tmp_path / "user_mod.py"
    f.write_text(source)
    code, _, err = cli(["profile", f"{f}:make"])
    assert code == 2 and needle in err


def test_a_batch_that_cannot_fit_is_refused_before_the_work(cli):
    code, _, err = cli(["profile", "resnet50", "--size", "base", "--batch-size", "100000"])
    assert code == 2 and "at batch size 100000 needs about" in err and "GiB of memory free" in err


# ---- output paths, found before the work ---------------------------------------------------------------


def test_output_paths_that_cannot_be_written_are_refused_first(cli, tmp_path):
    folder = tmp_path / "adir"
    folder.mkdir()
    a_file = tmp_path / "afile"
    a_file.write_text("x")
    cases = [
        (["profile", "mlp", "--json", str(folder)], "is a folder"),
        (["export", "mlp", "--out", str(a_file)], "is a file; give a folder"),
        (["card", "mlp", "--out", str(a_file / "card.md")], "not a writable folder"),
        (["report", str(_run(tmp_path, ["m"])), "--out", str(tmp_path / "x.pdf")], "must end in .md or .html"),
        (["gate", str(_run(tmp_path, ["m"])), "--budgets", str(_budgets(tmp_path, "[[budget]]\np50_ms = 5\n")),
          "--junit", str(folder)], "is a folder"),
        (["run", "--suite", "smoke", "--out", str(a_file)], "is a file; give a folder"),
    ]  # fmt: skip
    for argv, needle in cases:
        code, out, err = cli(argv)
        assert code == 2 and needle in err, (argv, err)
        assert "parameters" not in out  # nothing was measured


def _special(tmp_path: Path, kind: str) -> Path:
    """An output path that is not a regular file: a FIFO, a character device (a copy of /dev/null's node, made
    here, so the system's own is never at risk), a symbolic link to a file, a socket."""
    p = tmp_path / kind
    if kind == "fifo":
        os.mkfifo(p)
    elif kind == "device":
        if os.geteuid() != 0:
            pytest.skip("making a device node needs root")
        os.mknod(p, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    elif kind == "symlink":
        (tmp_path / "target.json").write_text("kept")
        p.symlink_to(tmp_path / "target.json")
    else:
        import socket

        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(p))
        sock.close()
    return p


@pytest.mark.parametrize("kind", ["fifo", "device", "symlink", "socket"])
def test_an_output_that_is_not_a_regular_file_is_refused_and_left_as_it_is(cli, tmp_path, kind):
    p = _special(tmp_path, kind)
    before = os.lstat(p)
    code, out, err = cli(["estimate", "mlp", "--hardware", "l4", "--json", str(p)])
    assert code == 2 and ("not a regular file" in err or "symbolic link" in err), err
    assert "hardware" not in out  # refused before the work
    after = os.lstat(p)
    assert (after.st_mode, after.st_ino, after.st_rdev) == (before.st_mode, before.st_ino, before.st_rdev)
    if kind == "symlink":
        assert (tmp_path / "target.json").read_text() == "kept"


@pytest.mark.parametrize("kind", ["fifo", "device", "symlink"])
def test_the_atomic_writer_never_replaces_what_is_not_a_regular_file(tmp_path, kind):
    from benchbench.core.errors import BadInputError
    from benchbench.core.files import write_json

    p = _special(tmp_path, kind)
    before = os.lstat(p)
    with pytest.raises(BadInputError):
        write_json(p, {"a": 1})
    assert os.lstat(p).st_ino == before.st_ino and not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize("dest", ["-", "/dev/stdout"])
def test_standard_output_is_written_through(cli, dest):
    code, out, _ = cli(["estimate", "mlp", "--hardware", "l4", "--json", dest])
    assert code == 0 and json.loads(out)["hardware"]["key"] == "l4"


def test_gate_junit_and_summary_outputs_refuse_a_fifo(cli, tmp_path):
    fifo = _special(tmp_path, "fifo")
    budgets = _budgets(tmp_path, "[[budget]]\np50_ms = 5\n")
    for option in ("--junit", "--summary"):
        code, _, err = cli(["gate", str(_run(tmp_path, ["m"])), "--budgets", str(budgets), option, str(fifo)])
        assert code == 2 and "FIFO" in err, err


# ---- numbers ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv, needle",
    [
        (
            ["estimate", "mlp", "--hardware", "l4", "--utilization", "0"],
            "--utilization: '0' must be in (0, 1]",
        ),
        (
            ["estimate", "mlp", "--hardware", "l4", "--epochs", "nan"],
            "--epochs: 'nan' is not a finite number",
        ),
        (["card", "mlp", "--train-samples", "-5"], "--train-samples: '-5' must be an integer >= 1"),
        (["swap", "bert", "--ops", "attention", "--rounds", "-3"], "--rounds: '-3' must be an integer >= 1"),
        (["export", "mlp", "--opset", "9999"], "--opset 9999 is not one the auto exporter produces"),
        (["history", "--limit", "-1"], "--limit: '-1' must be an integer >= 1"),
        (
            ["gate", "x", "--budgets", "y", "--max-regression", "nan"],
            "--max-regression: 'nan' is not a finite number",
        ),
        (
            ["kernels", "compare", "layernorm", "--shapes", "M=1e9,N=1e9"],
            "shape key M takes an integer, got '1e9'",
        ),
        (["kernels", "compare", "layernorm", "--shapes", "M=1000000000,N=1000000000"], "more than the"),
    ],
)
def test_numbers_out_of_range_are_refused(cli, argv, needle):
    code, _, err = cli(argv)
    assert code == 2 and needle in err


# ---- what the output holds ----------------------------------------------------------------------------------


def test_markup_and_html_in_names_are_shown_as_text_and_a_passing_gate_exits_0(cli, tmp_path):
    names = ["mynet[/data/v2]", "<script>alert(1)</script>", "bad\x07name <img src=x onerror=alert(1)>"]
    run = _run(tmp_path, names, error="exploded [/] <b>here</b>")
    budgets = _budgets(tmp_path, "[[budget]]\np50_ms = 5\n")
    junit, summary = tmp_path / "j.xml", tmp_path / "s.md"
    code, out, _ = cli(
        ["gate", str(run), "--budgets", str(budgets), "--junit", str(junit), "--summary", str(summary)]
    )
    assert code == 0 and "mynet[/data/v2]" in out
    cases = ET.parse(junit).getroot().findall("testcase")  # well-formed, the control character shown escaped
    assert {c.get("classname") for c in cases} == {
        "mynet[/data/v2]",
        "<script>alert(1)</script>",
        "bad\\x07name <img src=x onerror=alert(1)>",
    }
    text = summary.read_text()
    assert "<script>" not in text and "<img" not in text and "&lt;script&gt;" in text
    code, _, _ = cli(["report", str(run)])
    md = (run / "report.md").read_text()
    assert code == 0 and "<script>" not in md and "<b>" not in md and "mynet\\[/data/v2\\]" in md
    code, _, _ = cli(["report", str(run), "--out", str(run / "report.html")])
    html = (run / "report.html").read_text()
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_files_are_written_with_the_users_umask(tmp_path):
    """umask 002 (a shared group folder): every file of the run, its worker logs and the history database are
    group-writable, as the user asked; none has a mode of its own."""
    old = os.umask(0o002)
    try:
        script = "from benchbench.cli import main; raise SystemExit(main(['run', '--suite', 'smoke', '--models', 'mlp', '--out', 'o']))"
        subprocess.run([sys.executable, "-c", script], cwd=tmp_path, check=True, capture_output=True)
    finally:
        os.umask(old)
    (run_dir,) = (tmp_path / "o").iterdir()
    files = [p for p in run_dir.rglob("*") if p.is_file()] + [Path(os.environ["BENCHBENCH_HISTORY"])]
    assert any(p.name == "worker-0.log" for p in files) and any(p.suffix == ".sqlite" for p in files)
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o664 for p in files), [
        (p.name, oct(p.stat().st_mode)) for p in files]  # fmt: skip


def test_an_orphaned_temp_file_is_removed_on_the_next_write(tmp_path):
    from benchbench.core.files import ORPHAN_AGE_S, write_text

    orphan = tmp_path / ".r.json.abc123.tmp"
    orphan.write_text("half")
    os.utime(orphan, (orphan.stat().st_atime - ORPHAN_AGE_S - 1,) * 2)
    write_text(tmp_path / "r.json", "{}")
    assert not orphan.exists() and (tmp_path / "r.json").read_text() == "{}"


# ---- the process: interrupts, pipes, internal errors -----------------------------------------------------------


def test_a_closed_pipe_ends_quietly():
    proc = subprocess.run(f"{sys.executable} -m benchbench list --hardware --json | head -5", shell=True,
                          capture_output=True, text=True, cwd=ROOT)  # fmt: skip
    assert proc.stdout.count("\n") == 5 and proc.stderr == ""


def test_an_internal_error_is_one_line_with_a_log_and_exit_3(cli, tmp_path, monkeypatch):
    import benchbench.cli.listing as listing

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    monkeypatch.setattr(listing, "print_hardware", lambda **kw: {}["a bug"])
    code, _, err = cli(["list", "--hardware"])
    assert code == 3 and "internal error: KeyError: 'a bug'" in err
    log = Path(err.split("traceback is in ")[1].split(" ")[0].rstrip(";"))
    assert "Traceback" in log.read_text() and "a bug" in log.read_text()


def test_the_internal_error_log_never_takes_a_predictable_name(cli, tmp_path, monkeypatch):
    """With the state folder unwritable, the log goes to a fresh mkstemp file of the temp folder: an attacker's
    link planted at the old predictable name is not followed."""
    import tempfile

    import benchbench.cli.listing as listing

    blocked = tmp_path / "state"
    blocked.write_text("a file where the state folder should be")
    monkeypatch.setenv("XDG_STATE_HOME", str(blocked))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(listing, "print_hardware", lambda **kw: {}["a bug"])
    code, _, err = cli(["list", "--hardware"])
    log = Path(err.split("traceback is in ")[1].split(" ")[0].rstrip(";"))
    assert code == 3 and log.parent == tmp_path and "a bug" in log.read_text()
    assert stat.S_IMODE(log.stat().st_mode) == 0o600 and not log.is_symlink()


def test_ctrl_c_exits_130(cli, monkeypatch):
    import benchbench.cli.listing as listing

    def interrupted(**kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(listing, "print_hardware", interrupted)
    code, _, err = cli(["list", "--hardware"])
    assert code == 130 and "interrupted" in err
