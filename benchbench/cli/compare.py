"""`benchbench compare RUN_A RUN_B`: per-model p50 ratio B/A with its bootstrap 95% CI and a Mann-Whitney test."""

from __future__ import annotations

import argparse
from pathlib import Path

from benchbench.cli.common import console, probability
from benchbench.core.errors import BadInputError
from benchbench.core.stats import DEFAULT_ALPHA


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help="per-model latency ratios of two runs, with significance")
    p.add_argument("run_a", help="baseline: a run folder, results.json, profile or pytest-benchmark JSON, or a run id "
                                 "in the history")  # fmt: skip
    p.add_argument("run_b", help="candidate, the same way")
    p.add_argument("--db", help="history database to find run ids in (default $BENCHBENCH_HISTORY, else "
                                "results/history.sqlite)")  # fmt: skip
    p.add_argument(
        "--alpha", type=probability, default=DEFAULT_ALPHA, help="significance level (default 0.01)"
    )
    p.set_defaults(func=run)


def _results(where: str, db: str | None):
    from benchbench.ci.gate import load_results
    from benchbench.ci.history import find_run

    return load_results(where if Path(where).exists() else find_run(where, db))


def run(args: argparse.Namespace) -> int:
    from rich.table import Table
    from rich.text import Text

    from benchbench.ci.gate import profile_key
    from benchbench.core.stats import compare_samples

    a, b = _results(args.run_a, args.db), _results(args.run_b, args.db)
    base = {profile_key(p): p for p in a.profiles}
    table = Table(title=f"{args.run_b} vs {args.run_a} (ratio > 1: B slower)")
    for col in ("model", "config", "p50 A (ms)", "p50 B (ms)", "ratio B/A", "95% CI", "p-value", "verdict"):
        table.add_column(col)
    shared = 0
    for p in b.profiles:
        q = base.get(profile_key(p))
        if q is None:
            continue
        shared += 1
        sa = q.latency.samples_ms if q.latency else []
        sb = p.latency.samples_ms if p.latency else []
        cfg = f"{p.size}/bs{p.batch_size}/{p.device}/{p.dtype}"
        pa = q.latency.p50_ms if q.latency else None
        pb = p.latency.p50_ms if p.latency else None
        if len(sa) < 3 or len(sb) < 3:
            ratio = f"{pb / pa:.3f}" if pa and pb else "—"
            table.add_row(
                p.model, cfg, f"{pa or 0:.3f}", f"{pb or 0:.3f}", ratio, "—", "—", "too few samples"
            )
            continue
        c = compare_samples(sa, sb)
        sig = c.significant(args.alpha)
        verdict = (
            (Text("slower", style="red") if c.ratio > 1 else Text("faster", style="green"))
            if sig
            else "no significant change"
        )
        ci = f"[{c.ratio_ci95[0]:.3f}, {c.ratio_ci95[1]:.3f}]" if c.ratio_ci95 else "—"
        table.add_row(
            p.model, cfg, f"{pa:.3f}", f"{pb:.3f}", f"{c.ratio:.3f}", ci, f"{c.p_value:.2g}", verdict
        )
    if not shared:
        raise BadInputError(f"{args.run_a} and {args.run_b} share no model configuration to compare")
    console(width=160).print(table)
    return 0
