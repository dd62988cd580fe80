"""`benchbench gate`: check results against a budgets file (and a baseline); exit 0 pass, 1 fail, 2 bad input."""

from __future__ import annotations

import argparse

from benchbench.cli.common import check_output, console, nonnegative_float, nonnegative_int, probability
from benchbench.core.stats import DEFAULT_ALPHA


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gate", help="check results against latency/memory budgets; exit 1 when any fails")
    p.add_argument("results", help="run folder, results.json, profile JSON or pytest-benchmark JSON")
    p.add_argument("--budgets", required=True, help="budgets TOML file ([[budget]] tables)")
    p.add_argument("--baseline", help="results to compare latency against")
    p.add_argument("--max-regression", type=nonnegative_float, default=10.0, metavar="PCT",
                   help="p50 slow-down vs the baseline that fails, when significant (default 10)")  # fmt: skip
    p.add_argument(
        "--alpha", type=probability, default=DEFAULT_ALPHA, help="significance level (default 0.01)"
    )
    p.add_argument(
        "--retry",
        type=nonnegative_int,
        default=0,
        metavar="N",
        help="re-measure a failing model up to N times",
    )
    p.add_argument("--junit", metavar="FILE", help="write JUnit XML")
    p.add_argument("--summary", metavar="FILE", help="write a Markdown job summary")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich.text import Text

    from benchbench.ci.budgets import check_coverage, load_budgets
    from benchbench.ci.gate import (
        evaluate,
        load_results,
        render_junit,
        render_summary,
        render_table,
        run_noise_of,
    )
    from benchbench.core.files import write_text

    check_output(args.junit, what="--junit file")
    check_output(args.summary, what="--summary file")
    budgets = load_budgets(args.budgets)
    results = load_results(args.results)
    skipped = check_coverage(budgets, results.profiles, args.budgets)
    baseline = load_results(args.baseline) if args.baseline else None
    out = console(width=160)
    for b in skipped:
        out.print(f"{b.label()}: not applicable, no results on device {b.selectors['device']!r}", style="dim")
    checks = evaluate(
        results, budgets, baseline=baseline, max_regression_pct=args.max_regression, alpha=args.alpha,
        retry=args.retry, log=out.print,
    )  # fmt: skip
    noise = run_noise_of(results)
    out.print(render_table(checks, title=f"benchbench gate: {args.results}"))
    colour = {"quiet": "green", "noisy": "yellow", "unusable": "red"}.get(noise.verdict, "white")
    out.print(f"measurement noise: {noise.line()}", style=colour)
    noisy = sum(c.noisy for c in checks)
    if noisy:
        out.print(f"{noisy} verdict(s) rest on a noisy measurement (marked noisy)", style="yellow")
    if args.junit:
        write_text(args.junit, render_junit(checks))
    if args.summary:
        write_text(args.summary, render_summary(checks, noise))
    failed = [c for c in checks if not c.passed]
    if failed:
        names = ", ".join(sorted({f"{c.model} {c.metric}" for c in failed}))
        out.print(Text(f"{len(failed)} of {len(checks)} checks failed: {names}", style="red"))
        return 1
    out.print(Text(f"all {len(checks)} checks pass", style="green"))
    return 0
