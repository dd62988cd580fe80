"""`benchbench gate`: check results against a budgets file (and a baseline); exit 0 pass, 1 fail, 2 bad input."""

from __future__ import annotations

import argparse

from rich.console import Console

from benchbench.ci.budgets import check_coverage, load_budgets
from benchbench.ci.gate import (
    evaluate,
    load_results,
    render_junit,
    render_summary,
    render_table,
    run_noise_of,
)
from benchbench.core.errors import BadInputError
from benchbench.core.files import write_text
from benchbench.core.stats import DEFAULT_ALPHA


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gate", help="check results against latency/memory budgets; exit 1 when any fails")
    p.add_argument("results", help="run folder, results.json, profile JSON or pytest-benchmark JSON")
    p.add_argument("--budgets", required=True, help="budgets TOML file ([[budget]] tables)")
    p.add_argument("--baseline", help="results to compare latency against")
    p.add_argument("--max-regression", type=float, default=10.0, metavar="PCT",
                   help="p50 slow-down vs the baseline that fails, when significant (default 10)")  # fmt: skip
    p.add_argument("--alpha", type=float, default=DEFAULT_ALPHA, help="significance level (default 0.01)")
    p.add_argument(
        "--retry", type=int, default=0, metavar="N", help="re-measure a failing model up to N times"
    )
    p.add_argument("--junit", metavar="FILE", help="write JUnit XML")
    p.add_argument("--summary", metavar="FILE", help="write a Markdown job summary")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.retry < 0 or args.max_regression < 0 or not 0 < args.alpha < 1:
        raise BadInputError("--retry and --max-regression must be >= 0 and --alpha in (0, 1)")
    budgets = load_budgets(args.budgets)
    results = load_results(args.results)
    skipped = check_coverage(budgets, results.profiles, args.budgets)
    baseline = load_results(args.baseline) if args.baseline else None
    console = Console(width=160)
    for b in skipped:
        console.print(f"[dim]{b.label()}: not applicable, no results on device {b.selectors['device']!r}")
    checks = evaluate(
        results, budgets, baseline=baseline, max_regression_pct=args.max_regression, alpha=args.alpha,
        retry=args.retry, log=console.print,
    )  # fmt: skip
    noise = run_noise_of(results)
    console.print(render_table(checks, title=f"benchbench gate: {args.results}"))
    colour = {"quiet": "green", "noisy": "yellow", "unusable": "red"}.get(noise.verdict, "white")
    console.print(f"measurement noise: {noise.line()}", style=colour, markup=False)
    noisy = sum(c.noisy for c in checks)
    if noisy:
        console.print(f"[yellow]{noisy} verdict(s) rest on a noisy measurement (marked noisy)")
    if args.junit:
        write_text(args.junit, render_junit(checks))
    if args.summary:
        write_text(args.summary, render_summary(checks, noise))
    failed = [c for c in checks if not c.passed]
    if failed:
        console.print(f"[red]{len(failed)} of {len(checks)} checks failed: "
                      + ", ".join(sorted({f'{c.model} {c.metric}' for c in failed})))  # fmt: skip
        return 1
    console.print(f"[green]all {len(checks)} checks pass")
    return 0
