"""`benchbench merge SHARD... --out DIR`: combine shard runs into one run folder with results and a report."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchbench.cli.common import check_output_dir
from benchbench.cli.common import console as make_console
from benchbench.core.errors import BadInputError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("merge", help="combine shard runs (run --shard I/N) into one run folder")
    p.add_argument("shards", nargs="+", help="shard run folders or results.json files")
    p.add_argument("--out", required=True, help="run folder to write")
    p.add_argument("--db", help="history database (default $BENCHBENCH_HISTORY, else results/history.sqlite)")
    p.add_argument("--no-history", action="store_true", help="do not append the merged run to the history")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from benchbench.ci.history import append_run_or_say, check_db, db_path
    from benchbench.ci.merge import merge_folders
    from benchbench.record.run import load_run

    check_output_dir(args.out, "--out folder")
    if (Path(args.out) / "results.json").exists():
        raise BadInputError(f"{args.out} already holds results.json; choose a new --out folder")
    db = None if args.no_history else check_db(db_path(args.db))
    out = merge_folders(args.shards, args.out)
    merged = load_run(out)
    console = make_console()
    console.print(f"merged {len(args.shards)} shard(s), {len(merged.profiles)} profiles, into {out / 'results.json'}",
                  markup=False)  # fmt: skip
    if db is not None:
        console.print(append_run_or_say(merged, db, out), markup=False)
    return 0
