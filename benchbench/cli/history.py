"""`benchbench history [MODEL]`: latency and memory of past runs as a table and a PNG plot.
`benchbench history add RUN_DIR`: append a finished run (e.g. one copied from another machine)."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchbench.cli.common import check_output, positive_int
from benchbench.cli.common import console as make_console
from benchbench.core.errors import BadInputError

DB_HELP = "history database (default $BENCHBENCH_HISTORY, else results/history.sqlite)"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("history", help="show latency trends of past runs (table and plot), or add a run")
    p.add_argument("what", nargs="*", metavar="MODEL | add RUN_DIR",
                   help="a model name or glob (default: all), or `add RUN_DIR` to append a run folder")  # fmt: skip
    p.add_argument("--db", help=DB_HELP)
    p.add_argument(
        "--limit", type=positive_int, default=20, help="last N runs per configuration (default 20)"
    )
    p.add_argument("--plot", metavar="FILE", help="PNG to write (default: history.png beside the database)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from benchbench.ci.history import append_run, check_db, db_path, plot, query
    from benchbench.record.run import load_run

    console = make_console(width=180)
    if args.what and args.what[0] == "add":
        if len(args.what) != 2:
            raise BadInputError(
                "history add takes one run folder (or results.json): benchbench history add RUN_DIR"
            )
        db = check_db(db_path(args.db))
        result = load_run(args.what[1])
        folder = Path(args.what[1])
        console.print(
            f"appended {result.run_id} ({len(result.profiles)} profiles) to "
            f"{append_run(result, db, folder if folder.is_dir() else folder.parent)}",
            markup=False,
        )
        return 0
    if len(args.what) > 1:
        raise BadInputError(
            f"history takes one model name or glob, got {len(args.what)}: {' '.join(args.what)}"
        )
    check_output(args.plot, suffixes=(".png",), what="--plot file")
    model = args.what[0] if args.what else None
    rows = query(args.db, model, args.limit)
    if not rows:
        raise BadInputError(f"no history for {model or 'any model'} in {db_path(args.db)}")
    console.print(history_table(rows, db_path(args.db)))
    out = plot(rows, args.plot or Path(db_path(args.db)).with_name("history.png"))
    console.print(f"plot: {out}", markup=False)
    return 0


def history_table(rows: list, db: Path):
    from rich.table import Table

    from benchbench.core.units import fmt_bytes, fmt_ms

    table = Table(title=f"benchbench history ({db})")
    for col in ("model", "config", "run", "created", "commit", "p50", "p90", "p99", "peak mem", "Δp50"):
        table.add_column(col)
    prev: dict[tuple, float] = {}
    for r in rows:
        cfg = (r.model, r.size, r.batch_size, r.device, r.dtype)
        delta = ""
        if r.p50_ms is not None and prev.get(cfg):
            delta = f"{r.p50_ms / prev[cfg] - 1:+.1%}"
        if r.p50_ms is not None:
            prev[cfg] = r.p50_ms
        commit = (r.git_commit or "")[:10] + ("*" if r.git_dirty else "")
        table.add_row(
            r.model, f"{r.size}/bs{r.batch_size}/{r.device}/{r.dtype}", r.run_id, r.created_at, commit,
            *(fmt_ms(v) for v in (r.p50_ms, r.p90_ms, r.p99_ms)), fmt_bytes(r.peak_memory_bytes), delta,
        )  # fmt: skip
    return table
