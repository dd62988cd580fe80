"""History: runs appended to SQLite (by `benchbench run` and `append_run`) and shown by `benchbench history`."""

from __future__ import annotations

import sqlite3

import pytest

from benchbench.ci.history import ENV_VAR, append_run, db_path, query
from benchbench.cli import main
from benchbench.core.schema import load_run


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


def test_benchbench_run_appends_to_history(tmp_path, monkeypatch) -> None:
    import benchbench.runs.run as runs
    from benchbench.measure.timing import TimingConfig
    from benchbench.runs.suite import Suite

    tiny = Suite(
        "one", models=("mlp",), stages=(), timing=TimingConfig(warmup=1, min_repeats=3, min_time_s=0.0)
    )
    monkeypatch.setattr(runs, "get_suite", lambda _name: tiny)
    db = tmp_path / "h.sqlite"
    for _ in range(2):
        assert main(["run", "--out", str(tmp_path / "out"), "--db", str(db)]) == 0
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
