"""Run history: every run appended to one SQLite database (runs + one row per profile) for trends over time.

The database is `results/history.sqlite` under the working directory, unless `BENCHBENCH_HISTORY` or `--db`
says otherwise; `run`, `merge`, `history` and `compare` all use it. Its schema carries a version
(`PRAGMA user_version`); an older database is migrated in place when opened, and a file that is not a
benchbench history (another schema, not SQLite) is refused with one line.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from benchbench.core.errors import BadInputError
from benchbench.record.run import RunResult

ENV_VAR = "BENCHBENCH_HISTORY"
DEFAULT_DB = Path("results") / "history.sqlite"
BUSY_TIMEOUT_S = 30.0  # how long a write waits for another process's lock on the database
SCHEMA_VERSION = 3  # 1: the first database (user_version 0); 2: project git state, status and fingerprints;
# 3: each profile's p50 CI and raw latency samples (for trends with bands and the gate's regression test), kernel rows

_TABLES = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, suite TEXT, device TEXT, created_at TEXT, shard TEXT,
    git_commit TEXT, env TEXT, git_dirty INTEGER, git_repo TEXT, fingerprint TEXT, results_path TEXT
);
CREATE TABLE IF NOT EXISTS profiles (
    run_id TEXT REFERENCES runs(run_id), model TEXT, size TEXT, batch_size INTEGER, device TEXT, dtype TEXT,
    ok INTEGER, p50_ms REAL, p90_ms REAL, p99_ms REAL, mean_ms REAL, n INTEGER,
    peak_memory_bytes INTEGER, params INTEGER, macs INTEGER, status TEXT, fingerprint TEXT,
    p50_ci_lo REAL, p50_ci_hi REAL, samples TEXT,
    PRIMARY KEY (run_id, model, size, batch_size, device, dtype)
);
CREATE TABLE IF NOT EXISTS kernels (
    run_id TEXT REFERENCES runs(run_id), op TEXT, impl TEXT, baseline INTEGER, device TEXT, dtype TEXT,
    shape TEXT, mode TEXT, status TEXT, p50_ms REAL, p50_ci_lo REAL, p50_ci_hi REAL, tflops REAL, gbps REAL,
    speedup REAL
);
"""
# Columns each version added, so an older database is brought up to date with ALTER TABLE.
_ADDED = {2: {"runs": ("git_dirty INTEGER", "git_repo TEXT", "fingerprint TEXT", "results_path TEXT"),
              "profiles": ("status TEXT", "fingerprint TEXT")},
          3: {"profiles": ("p50_ci_lo REAL", "p50_ci_hi REAL", "samples TEXT")}}  # fmt: skip
# Tables a version added whole (CREATE TABLE IF NOT EXISTS in _TABLES makes them).
_NEW_TABLES = {3: ("kernels",)}
_V1_COLUMNS = {"runs": {"run_id", "suite", "device", "created_at", "shard", "git_commit", "env"},
               "profiles": {"run_id", "model", "size", "batch_size", "device", "dtype", "ok", "p50_ms", "p90_ms",
                            "p99_ms", "mean_ms", "n", "peak_memory_bytes", "params", "macs"}}  # fmt: skip


def db_path(explicit: str | Path | None = None) -> Path:
    """The history database: the explicit path, else $BENCHBENCH_HISTORY, else results/history.sqlite."""
    return Path(explicit or os.environ.get(ENV_VAR) or DEFAULT_DB)


def _columns(con: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in con.execute(f"PRAGMA table_info({table})")}


def _migrate(con: sqlite3.Connection, path: Path) -> None:
    """Create the tables, or check an existing database is a benchbench history and bring it to SCHEMA_VERSION."""
    version = con.execute("PRAGMA user_version").fetchone()[0]
    tables = {row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if version > SCHEMA_VERSION:
        raise BadInputError(
            f"{path}: history schema {version} is newer than this benchbench's ({SCHEMA_VERSION}); upgrade"
        )
    if tables and (
        not {"runs", "profiles"} <= tables or not all(_V1_COLUMNS[t] <= _columns(con, t) for t in _V1_COLUMNS)
    ):
        raise BadInputError(f"{path}: not a benchbench history database (it has tables {', '.join(sorted(tables))}); "
                            "give another --db")  # fmt: skip
    with con:
        if not tables:
            con.executescript(_TABLES)
        else:
            if any(_NEW_TABLES.get(v) for v in range(max(version, 1) + 1, SCHEMA_VERSION + 1)):
                con.executescript(_TABLES)  # IF NOT EXISTS: creates only the tables this database lacks
            for v in range(max(version, 1) + 1, SCHEMA_VERSION + 1):
                for table, columns in _ADDED.get(v, {}).items():
                    have = _columns(con, table)
                    for col in columns:
                        if col.split()[0] not in have:
                            con.execute(f"ALTER TABLE {table} ADD COLUMN {col}")
        con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def check_db(path: str | Path) -> Path:
    """Refuse, before any work, a history path that cannot be one: a folder, an unwritable place, another file."""
    path = Path(path)
    if path.is_dir():
        raise BadInputError(
            f"history database {path} is a folder; give a file path (e.g. {path / 'history.sqlite'})"
        )
    if path.exists():
        connect(path).close()  # migrates, or refuses a foreign file
        if not os.access(path, os.W_OK):
            raise BadInputError(f"history database {path} is not writable")
        return path
    parent = next((p for p in path.absolute().parents if p.exists()), Path("/"))
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise BadInputError(f"cannot create the history database {path}: {parent} is not a writable folder")
    return path


def connect(path: str | Path | None = None, *, create: bool = True) -> sqlite3.Connection:
    path = db_path(path)
    if not create and not path.is_file():
        raise BadInputError(
            f"no history database at {path}; run `benchbench run` first or pass --db / ${ENV_VAR}"
        )
    if path.is_dir():
        raise BadInputError(f"history database {path} is a folder; give a file path")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():  # made here so that the user's umask decides its mode (SQLite would use 0644)
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o666))
        con = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S)  # a lock held by another writer is waited for
        _migrate(con, path)
    except sqlite3.DatabaseError as e:
        raise database_error(e, path) from None
    except OSError as e:
        raise BadInputError(f"cannot open the history database {path}: {e.strerror}") from None
    return con


def database_error(e: sqlite3.Error, path: Path) -> BadInputError:
    """The one line for an SQLite error on the history: locked (after waiting), full, unreadable, or foreign."""
    text = str(e).lower()
    if "locked" in text or "busy" in text:
        return BadInputError(f"history database {path} is locked by another process (waited {BUSY_TIMEOUT_S:g} s); "
                             "try again when it is free")  # fmt: skip
    if "full" in text or "disk i/o" in text or "readonly" in text or "unable to open" in text:
        return BadInputError(f"cannot write the history database {path}: {e}")
    return BadInputError(f"{path}: not a benchbench history database ({e})")


def append_run(run: RunResult, path: str | Path | None = None, results: str | Path | None = None) -> Path:
    """Append `run` (idempotent per run_id) and return the database path. The commit recorded is the one of the
    repository the run was started in (the user's project), with whether it had uncommitted changes; `results`
    is where its folder is, so that `compare` can find the run by its id."""
    return append_runs([(run, results)], path)


def append_runs(runs: list[tuple[RunResult, str | Path | None]], path: str | Path | None = None) -> Path:
    """Append each (run, results folder) of `runs` in one transaction (see `append_run`)."""
    target = db_path(path)
    con = connect(target)
    try:
        with con:
            for run, results in runs:
                _insert(con, run, results)
    except sqlite3.Error as e:
        raise database_error(e, target) from None
    finally:
        con.close()
    return target


def append_run_or_say(run: RunResult, path: str | Path | None, run_dir: str | Path) -> str:
    """Append a finished run and return the line to print: where it went, or, when the history could not be
    written (locked past the wait, a full disk), that its row is missing and the command that adds it later.
    The run's own results are kept either way."""
    try:
        return f"appended to history {append_run(run, path, run_dir)}"
    except BadInputError as e:
        return f"the run's history row was not written ({e}); add it later with: benchbench history add {run_dir}"


def _insert(con: sqlite3.Connection, run: RunResult, results: str | Path | None) -> None:
    """The rows of one run: the run, its profiles (with their p50 CI and samples) and its timed kernels."""
    git = run.git
    con.execute(
        "INSERT OR REPLACE INTO runs (run_id, suite, device, created_at, shard, git_commit, env, git_dirty, "
        "git_repo, fingerprint, results_path) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (run.run_id, run.suite, run.device, run.created_at, run.shard, git.commit if git else None,
         json.dumps(run.env, default=str), None if git is None or git.dirty is None else int(git.dirty),
         git.repo if git else None, run.env.get("fingerprint"), str(Path(results).resolve()) if results else None),
    )  # fmt: skip
    for p in run.profiles:
        lat = p.latency
        ci = lat.ci95_ms if lat and lat.ci95_ms else (None, None)
        con.execute(
            "INSERT OR REPLACE INTO profiles (run_id, model, size, batch_size, device, dtype, ok, p50_ms, p90_ms, "
            "p99_ms, mean_ms, n, peak_memory_bytes, params, macs, status, fingerprint, p50_ci_lo, p50_ci_hi, "
            "samples) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (run.run_id, p.model, p.size, p.batch_size, p.device, p.dtype, int(p.ok),
             *((lat.p50_ms, lat.p90_ms, lat.p99_ms, lat.mean_ms, lat.n) if lat else (None,) * 5),
             p.memory.peak_bytes_inference if p.memory else None, p.params.total if p.params else None,
             p.flops.macs if p.flops else None, p.status, p.env.get("fingerprint"), *ci,
             json.dumps(lat.samples_ms) if lat and lat.samples_ms else None),
        )  # fmt: skip
    con.execute("DELETE FROM kernels WHERE run_id = ?", (run.run_id,))
    con.executemany(
        "INSERT INTO kernels (run_id, op, impl, baseline, device, dtype, shape, mode, status, p50_ms, p50_ci_lo, "
        "p50_ci_hi, tflops, gbps, speedup) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(run.run_id, r.op, r.impl, int(r.baseline), r.device, r.dtype, r.shape, r.mode, r.status, r.p50_ms,
          *(r.ci95_ms or (None, None)), r.tflops, r.gbps, r.speedup) for r in kernel_rows(run)],
    )  # fmt: skip


def kernel_rows(run: RunResult) -> list:
    """The timed kernel rows of a run's campaign (comparisons and goal timings), each once."""
    if run.campaign is None:
        return []
    rows, seen = [], set()
    for r in [*run.campaign.comparisons, *run.campaign.goal_timings]:
        key = (r.op, r.impl, r.device, r.dtype, r.shape, r.mode)
        if r.status == "timed" and r.p50_ms is not None and key not in seen:
            seen.add(key)
            rows.append(r)
    return rows


@dataclass
class HistoryRow:
    run_id: str
    created_at: str
    git_commit: str | None
    git_dirty: bool | None
    model: str
    size: str
    batch_size: int
    device: str
    dtype: str
    p50_ms: float | None
    p90_ms: float | None
    p99_ms: float | None
    peak_memory_bytes: int | None


def _fetch(con: sqlite3.Connection, path: str | Path | None, sql: str, args: tuple) -> list[tuple]:
    """The rows of one read, closing the connection; a lock held past the wait is one line, not a traceback."""
    try:
        return con.execute(sql, args).fetchall()
    except sqlite3.Error as e:
        raise database_error(e, db_path(path)) from None
    finally:
        con.close()


def query(path: str | Path | None = None, model: str | None = None, limit: int = 50) -> list[HistoryRow]:
    """Rows for `model` (a glob; all when None), oldest first, the last `limit` runs per configuration."""
    con = connect(path, create=False)
    sql = (
        "SELECT r.run_id, r.created_at, r.git_commit, r.git_dirty, p.model, p.size, p.batch_size, p.device, p.dtype, "
        "p.p50_ms, p.p90_ms, p.p99_ms, p.peak_memory_bytes FROM profiles p JOIN runs r USING (run_id)"
    )
    args: tuple = ()
    if model:  # a glob over zoo names; a user factory's path matches itself even with [ ] in it
        sql += " WHERE p.model GLOB ? OR p.model = ?"
        args = (model, model)
    sql += " ORDER BY r.created_at, r.run_id"
    rows = [HistoryRow(*r) for r in _fetch(con, path, sql, args)]
    by_cfg: dict[tuple, list[HistoryRow]] = {}
    for r in rows:
        by_cfg.setdefault((r.model, r.size, r.batch_size, r.device, r.dtype), []).append(r)
    return [r for group in by_cfg.values() for r in group[-limit:]]


def find_run(run_id: str, path: str | Path | None = None) -> Path:
    """The results folder of the run `run_id` (or the one run whose id starts with it) recorded in the history."""
    con = connect(path, create=False)
    found = _fetch(con, path, "SELECT run_id, results_path FROM runs WHERE run_id LIKE ? || '%'", (run_id,))
    if len(found) != 1:
        what = "no run" if not found else f"{len(found)} runs ({', '.join(r[0] for r in found[:5])})"
        raise BadInputError(
            f"{run_id!r} is neither a results file or folder nor one run id in {db_path(path)}: {what}"
        )
    if not found[0][1]:
        raise BadInputError(
            f"run {found[0][0]} in {db_path(path)} has no recorded results folder; give its path"
        )
    return Path(found[0][1])


def plot(rows: list[HistoryRow], out: str | Path) -> Path:
    """p50 latency per run for each configuration, as a PNG."""
    from benchbench.report.plots import inert_texts, pyplot

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    by_cfg: dict[str, list[HistoryRow]] = {}
    for r in rows:
        by_cfg.setdefault(f"{r.model} {r.size} bs{r.batch_size} {r.device} {r.dtype}", []).append(r)
    for label, group in by_cfg.items():
        pts = [(i, r.p50_ms) for i, r in enumerate(group) if r.p50_ms is not None]
        if pts:
            ax.plot([x for x, _ in pts], [y for _, y in pts], marker="o", label=label)
    ax.set_xlabel("run (oldest first)")
    ax.set_ylabel("p50 latency (ms)")
    ax.set_title("benchbench history")
    if by_cfg:
        ax.legend(fontsize="small")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    inert_texts(fig)  # model names from the database: on one line, no control characters
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
