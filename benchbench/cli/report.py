"""`benchbench report RESULTS [--format md|html] [--out FILE]`: a run's results as one page."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchbench.core.errors import BadInputError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="render a run's results as Markdown or HTML")
    p.add_argument("results", help="a run folder or its results.json (or a profile JSON)")
    p.add_argument(
        "--format", default=None, choices=("md", "html"), help="default: from --out's suffix, else md"
    )
    p.add_argument("--out", help="output file (default: report.<format> beside the results)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from benchbench.cli.common import check_output
    from benchbench.record.run import load_run
    from benchbench.report.run_report import write_report
    from benchbench.stages import load_plugins

    suffix = Path(args.out).suffix if args.out else None
    if args.out and suffix not in (".md", ".html"):
        raise BadInputError(f"--out {args.out!r} must end in .md or .html (the report's two formats)")
    fmt = args.format or (suffix.lstrip(".") if suffix else "md")
    if suffix and suffix != f".{fmt}":
        raise BadInputError(f"--out {args.out!r} does not end in .{fmt}, the --format asked for")
    src = Path(args.results)
    out = Path(args.out) if args.out else (src if src.is_dir() else src.parent) / f"report.{fmt}"
    check_output(str(out), what="report file")
    load_plugins()  # the stages whose records the results hold and whose sections the report shows
    run_ = load_run(args.results)
    print(write_report(run_, out, fmt))
    return 0
