"""`benchbench report RESULTS [--format md|html] [--out FILE]`: a run's results as one page."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="render a run's results as Markdown or HTML")
    p.add_argument("results", help="a run folder or its results.json (or a profile JSON)")
    p.add_argument(
        "--format", default=None, choices=("md", "html"), help="default: from --out's suffix, else md"
    )
    p.add_argument("--out", help="output file (default: report.<format> beside the results)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from benchbench.core.schema import load_run
    from benchbench.report.run_report import write_report

    run_ = load_run(args.results)
    fmt = args.format or (
        Path(args.out).suffix.lstrip(".") if args.out and args.out.endswith((".md", ".html")) else "md"
    )
    src = Path(args.results)
    out = Path(args.out) if args.out else (src if src.is_dir() else src.parent) / f"report.{fmt}"
    print(write_report(run_, out, fmt))
    return 0
