"""`benchbench run`: profile every model of a suite into a fresh run folder with results and a report."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from benchbench.core.errors import BadInputError


def parse_shard(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise BadInputError(f"--shard must look like I/N (e.g. 1/4), got {text!r}") from None
    if not 1 <= i <= n:
        raise BadInputError(f"--shard {text}: need 1 <= I <= N")
    return i, n


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run a suite and write results and a report")
    p.add_argument("--suite", default="default", help="smoke, default, full or gpu (default: default)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--shard", help="run the I-th of N deterministic shards, as I/N")
    p.add_argument("--out", default="results", help="folder under which the run folder is made")
    p.add_argument("--db", help="history SQLite (default $BENCHBENCH_HISTORY or OUT/history.sqlite)")
    p.add_argument("--budget", type=float, metavar="SECONDS",
                   help="time budget of the gpu suite's kernel campaign (default 300); campaign.json is "
                        "rewritten after every step")  # fmt: skip
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from benchbench.ci.history import ENV_VAR, append_run
    from benchbench.core.device import parse_device
    from benchbench.core.schema import load_run
    from benchbench.runs.run import run_suite

    parse_device(args.device)
    if args.budget is not None and not args.budget > 0:
        raise BadInputError(f"--budget must be a positive number of seconds, got {args.budget:g}")
    run_dir = run_suite(args.suite, device=args.device, out=args.out, shard=parse_shard(args.shard),
                        budget_s=args.budget)  # fmt: skip
    result = load_run(run_dir)
    failed = [p for p in result.profiles if not p.ok]
    console = Console()
    console.print(f"wrote {run_dir / 'results.json'} and {run_dir / 'report.md'}")
    db = append_run(result, args.db or os.environ.get(ENV_VAR) or Path(args.out) / "history.sqlite")
    console.print(f"appended to history {db}")
    for p in failed:
        console.print(
            f"[yellow]{p.model} ({p.size}) failed: " + "; ".join(f"{e.stage}: {e.error}" for e in p.errors)
        )
    return 0
