"""Run history: every run appended to an SQLite database (runs + one row per profile) for trends over time.

The database is `results/history.sqlite` unless `BENCHBENCH_HISTORY` or an explicit path says otherwise.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from benchbench.core.errors import BadInputError
from benchbench.core.results import RunResult

ENV_VAR = "BENCHBENCH_HISTORY"
DEFAULT_DB = Path("results") / "history.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, suite TEXT, device TEXT, created_at TEXT, shard TEXT,
    git_commit TEXT, env TEXT
);
CREATE TABLE IF NOT EXISTS profiles (
    run_id TEXT REFERENCES runs(run_id), model TEXT, size TEXT, batch_size INTEGER, device TEXT, dtype TEXT,
    ok INTEGER, p50_ms REAL, p90_ms REAL, p99_ms REAL, mean_ms REAL, n INTEGER,
    peak_memory_bytes INTEGER, params INTEGER, macs INTEGER,
    PRIMARY KEY (run_id, model, size, batch_size, device, dtype)
);
"""


def db_path(explicit: str | Path | None = None) -> Path:
    """The history database: the explicit path, else $BENCHBENCH_HISTORY, else results/history.sqlite."""
    return Path(explicit or os.environ.get(ENV_VAR) or DEFAULT_DB)


def connect(path: str | Path | None = None, *, create: bool = True) -> sqlite3.Connection:
    path = db_path(path)
    if not create and not path.is_file():
        raise BadInputError(
            f"no history database at {path}; run `benchbench run` first or pass --db / ${ENV_VAR}"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = sqlite3.connect(path)
        con.executescript(_SCHEMA)
    except sqlite3.DatabaseError as e:
        raise BadInputError(f"{path}: not a benchbench history database ({e})") from None
    return con


def _git_commit(env: dict) -> str | None:
    git = env.get("git")
    if isinstance(git, dict):
        return git.get("commit")
    return env.get("git_commit") or (git if isinstance(git, str) else None)


def append_run(run: RunResult, path: str | Path | None = None) -> Path:
    """Append `run` (idempotent per run_id) and return the database path."""
    target = db_path(path)
    with connect(target) as con:
        con.execute(
            "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?)",
            (run.run_id, run.suite, run.device, run.created_at, run.shard, _git_commit(run.env),
             json.dumps(run.env, default=str)),
        )  # fmt: skip
        for p in run.profiles:
            lat = p.latency
            con.execute(
                "INSERT OR REPLACE INTO profiles VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run.run_id, p.model, p.size, p.batch_size, p.device, p.dtype, int(p.ok),
                 *((lat.p50_ms, lat.p90_ms, lat.p99_ms, lat.mean_ms, lat.n) if lat else (None,) * 5),
                 p.memory.peak_bytes_inference if p.memory else None, p.params.total if p.params else None,
                 p.flops.macs if p.flops else None),
            )  # fmt: skip
    con.close()
    return target


@dataclass
class HistoryRow:
    run_id: str
    created_at: str
    git_commit: str | None
    model: str
    size: str
    batch_size: int
    device: str
    dtype: str
    p50_ms: float | None
    p90_ms: float | None
    p99_ms: float | None
    peak_memory_bytes: int | None


def query(path: str | Path | None = None, model: str | None = None, limit: int = 50) -> list[HistoryRow]:
    """Rows for `model` (a glob; all when None), oldest first, the last `limit` runs per configuration."""
    con = connect(path, create=False)
    sql = (
        "SELECT r.run_id, r.created_at, r.git_commit, p.model, p.size, p.batch_size, p.device, p.dtype, "
        "p.p50_ms, p.p90_ms, p.p99_ms, p.peak_memory_bytes FROM profiles p JOIN runs r USING (run_id)"
    )
    args: tuple = ()
    if model:
        sql += " WHERE p.model GLOB ?"
        args = (model,)
    sql += " ORDER BY r.created_at, r.run_id"
    rows = [HistoryRow(*r) for r in con.execute(sql, args)]
    con.close()
    by_cfg: dict[tuple, list[HistoryRow]] = {}
    for r in rows:
        by_cfg.setdefault((r.model, r.size, r.batch_size, r.device, r.dtype), []).append(r)
    return [r for group in by_cfg.values() for r in group[-limit:]]


def plot(rows: list[HistoryRow], out: str | Path) -> Path:
    """p50 latency per run for each configuration, as a PNG (matplotlib, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
