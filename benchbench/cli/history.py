"""`benchbench history [MODEL]`: latency and memory of past runs as a table and a PNG plot."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.table import Table

from benchbench.ci.history import ENV_VAR, db_path, plot, query
from benchbench.core.errors import BadInputError
from benchbench.core.units import fmt_bytes, fmt_ms


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("history", help="show latency trends of past runs (table and plot)")
    p.add_argument("model", nargs="?", help="model name or glob (default: all)")
    p.add_argument("--db", help=f"history database (default ${ENV_VAR} or results/history.sqlite)")
    p.add_argument("--limit", type=int, default=20, help="last N runs per configuration (default 20)")
    p.add_argument("--plot", metavar="FILE", help="PNG to write (default: history.png beside the database)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    rows = query(args.db, args.model, args.limit)
    if not rows:
        raise BadInputError(f"no history for {args.model or 'any model'} in {db_path(args.db)}")
    table = Table(title=f"benchbench history ({db_path(args.db)})")
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
        table.add_row(
            r.model, f"{r.size}/bs{r.batch_size}/{r.device}/{r.dtype}", r.run_id, r.created_at,
            (r.git_commit or "")[:10], *(fmt_ms(v) if v is not None else "—" for v in (r.p50_ms, r.p90_ms, r.p99_ms)),
            fmt_bytes(r.peak_memory_bytes) if r.peak_memory_bytes is not None else "—", delta,
        )  # fmt: skip
    console = Console(width=180)
    console.print(table)
    out = plot(rows, args.plot or Path(db_path(args.db)).with_name("history.png"))
    console.print(f"plot: {out}")
    return 0
