"""History: runs appended to SQLite (by `benchbench run` and `append_run`) and shown by `benchbench history`."""

from __future__ import annotations

import sqlite3

import pytest

from benchbench.ci.history import ENV_VAR, append_run, db_path, query
from benchbench.cli import main
from benchbench.record.run import load_run


def test_two_runs_appended_and_shown(write_run, tmp_path, capsys) -> None:
    db = tmp_path / "h.sqlite"
    runs = [
        load_run(write_run(f"r{i}", {"mlp": (2.0 + i, 0.02), "cnn": (5.0, 0.02)}, seed=i)) for i in range(2)
    ]
    for r in runs:
        append_run(r, db)
    append_run(runs[1], db)  # appending the same run again does not duplicate it
    assert len(query(db, "mlp")) == 2
    png = tmp_path / "trend.png"
    assert main(["history", "mlp", "--db", str(db), "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert all(r.run_id[:12] in out for r in runs) and "cnn" not in out.split("plot:")[0].split("Δp50")[1]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["history", "--db", str(db), "--plot", str(png)]) == 0
    assert "cnn" in capsys.readouterr().out


def test_env_var_selects_the_database(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "env.sqlite"))
    assert db_path() == tmp_path / "env.sqlite"
    assert db_path(tmp_path / "x.sqlite") == tmp_path / "x.sqlite"
    monkeypatch.delenv(ENV_VAR)
    assert str(db_path()) == "results/history.sqlite"


def test_benchbench_run_appends_to_history(tmp_path) -> None:
    db = tmp_path / "h.sqlite"
    for _ in range(2):
        assert (
            main(
                [
                    "run",
                    "--suite",
                    "smoke",
                    "--models",
                    "mlp",
                    "--out",
                    str(tmp_path / "out"),
                    "--db",
                    str(db),
                ]
            )
            == 0
        )
    con = sqlite3.connect(db)
    assert con.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 2
    assert con.execute("SELECT COUNT(*) FROM profiles WHERE model = 'mlp' AND p50_ms > 0").fetchone()[0] == 2


@pytest.mark.parametrize("content", [None, b"not a database at all, just some bytes" * 10])
def test_missing_or_bad_database_exits_2(tmp_path, content, capsys) -> None:
    db = tmp_path / "h.sqlite"
    if content is not None:
        db.write_bytes(content)
    assert main(["history", "--db", str(db)]) == 2
    assert str(db) in capsys.readouterr().err


# The first history schema (PRAGMA user_version 0), as benchbench 0.1.0 created it.
_V1 = """
CREATE TABLE runs (run_id TEXT PRIMARY KEY, suite TEXT, device TEXT, created_at TEXT, shard TEXT, git_commit TEXT,
                   env TEXT);
CREATE TABLE profiles (run_id TEXT REFERENCES runs(run_id), model TEXT, size TEXT, batch_size INTEGER, device TEXT,
                       dtype TEXT, ok INTEGER, p50_ms REAL, p90_ms REAL, p99_ms REAL, mean_ms REAL, n INTEGER,
                       peak_memory_bytes INTEGER, params INTEGER, macs INTEGER,
                       PRIMARY KEY (run_id, model, size, batch_size, device, dtype));
INSERT INTO runs VALUES ('old-run', 'default', 'cpu', '2026-11-01T00:00:00+00:00', NULL, 'abc123', '{}');
INSERT INTO profiles VALUES ('old-run', 'mlp', 'tiny', 1, 'cpu', 'float32', 1, 2.0, 2.5, 3.0, 2.1, 10, 1, 6115, 9);
"""


def test_a_version_1_database_is_migrated_and_keeps_its_rows(write_run, tmp_path) -> None:
    db = tmp_path / "old.sqlite"
    con = sqlite3.connect(db)
    con.executescript(_V1)
    con.close()
    append_run(load_run(write_run("new", {"mlp": (2.0, 0.02)})), db)
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA user_version").fetchone()[0] == 3
    assert next(r[0] for r in con.execute("SELECT run_id FROM runs ORDER BY created_at")) == "old-run"
    assert {r[0] for r in con.execute("SELECT status FROM profiles")} == {None, "ok"}  # old rows: no status
    assert next(r.git_commit for r in query(db, "mlp")) == "abc123"


def test_another_schema_is_refused_before_any_work(tmp_path, capsys) -> None:
    db = tmp_path / "other.sqlite"
    sqlite3.connect(db).executescript("CREATE TABLE users (id INTEGER, name TEXT);")
    assert main(["run", "--suite", "smoke", "--db", str(db), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "not a benchbench history database (it has tables users)" in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()
    assert main(["run", "--suite", "smoke", "--db", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert "is a folder" in capsys.readouterr().err


def test_the_run_records_the_projects_commit_and_history_add_and_compare_find_runs(
    tmp_path, monkeypatch
) -> None:
    import subprocess

    project = tmp_path / "project"
    project.mkdir()
    for args in (
        ["init", "-q"],
        ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "x"],
    ):
        subprocess.run(["git", *args], cwd=project, check=True)
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True
    ).stdout.strip()
    monkeypatch.chdir(project)
    db = project / "results" / "history.sqlite"
    monkeypatch.delenv(ENV_VAR)  # the one default place: results/history.sqlite under the working directory
    assert main(["run", "--suite", "smoke", "--models", "mlp", "--out", str(tmp_path / "runs")]) == 0
    (run_dir,) = (tmp_path / "runs").iterdir()
    run = load_run(run_dir)
    assert run.git.commit == commit and run.git.dirty is False and run.git.repo == str(project.resolve())
    assert [r.git_commit for r in query(db, "mlp")] == [commit]
    other = tmp_path / "other.sqlite"
    assert main(["history", "add", str(run_dir), "--db", str(other)]) == 0
    assert len(query(other, "mlp")) == 1
    assert main(["compare", run.run_id, run.run_id[:16]]) == 0  # run ids found through the default history


def test_a_locked_history_waits_then_says_so_and_the_run_says_how_to_add_it_later(tmp_path, monkeypatch):
    import sqlite3

    import benchbench.ci.history as history
    from benchbench.core.errors import BadInputError
    from benchbench.record.run import RunResult

    db = tmp_path / "h.sqlite"
    history.connect(db).close()
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process writing
    monkeypatch.setattr(history, "BUSY_TIMEOUT_S", 0.2)
    run = RunResult("s", "cpu", [])
    try:
        with pytest.raises(BadInputError, match="is locked by another process"):
            history.append_run(run, db, tmp_path)
        line = history.append_run_or_say(run, db, tmp_path / "RUN")
        assert "history row was not written" in line and f"benchbench history add {tmp_path / 'RUN'}" in line
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert "appended to history" in history.append_run_or_say(run, db, tmp_path)  # free again: it goes in
