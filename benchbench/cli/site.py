"""`benchbench site`: a static results site from the history database and results folders."""

from __future__ import annotations

import argparse

from benchbench.cli.common import check_output_dir, console, emit_json, positive_float

DB_HELP = "history database (default $BENCHBENCH_HISTORY, else results/history.sqlite)"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("site", help="build a static results site: trends over commits, devices, kernels")
    p.add_argument("--db", default=None, help=DB_HELP)
    p.add_argument("--results", nargs="*", default=[], metavar="PATH",
                   help="run folders, results.json or `kernels compare --json` files to add")  # fmt: skip
    p.add_argument("--no-history", action="store_true", help="read only --results, not the history database")
    p.add_argument("--out", default="site", help="folder to write the site into (default: site)")
    p.add_argument("--max-regression", type=positive_float, default=10.0, metavar="PCT",
                   help="the gate's threshold for marking a regression (default 10)")  # fmt: skip
    p.add_argument(
        "--json", metavar="FILE", help="write a summary of the build as JSON ('-': standard output)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Read the runs, build the site, say where it is."""
    from benchbench.ci.history import db_path
    from benchbench.site.build import build_site, plotly_js
    from benchbench.site.data import load_site_data

    check_output_dir(args.out, what="--out folder")
    plotly_js()  # refuse before reading anything when Plotly is missing
    db = None if args.no_history else db_path(args.db)
    summary = build_site(load_site_data(db, args.results), args.out, args.max_regression)
    emit_json(args.json, summary)
    console(args).print(
        f"wrote {summary.pages} pages for {summary.runs} runs and {summary.models} models "
        f"({summary.regressions} regressions marked) in {summary.elapsed_s:.1f} s: {summary.out}/index.html",
        soft_wrap=True,
    )
    return 0
