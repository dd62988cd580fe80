"""`benchbench health MODEL`: the architecture lint and the trainability probe."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

from benchbench.core.errors import BadInputError
from benchbench.core.files import write_json
from benchbench.core.target import load_target
from benchbench.health.check import check_health
from benchbench.health.lint import LintConfig
from benchbench.health.probe import ProbeConfig


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("health", help="lint an architecture and probe its trainability")
    p.add_argument("model", help="zoo name or pkg.module:factory")
    p.add_argument("--size", default="tiny")
    p.add_argument("--batch-size", type=int, default=8, help="per-device training batch size")
    p.add_argument("--seq-len", type=int, default=None)
    p.add_argument("--steps", type=int, default=ProbeConfig.steps, help="probe optimizer steps")
    p.add_argument(
        "--dataset-size", type=int, default=None, help="training samples, for the params-per-sample rule"
    )
    p.add_argument("--max-params-per-sample", type=float, default=LintConfig.max_params_per_sample)
    p.add_argument("--no-probe", action="store_true", help="lint only")
    p.add_argument("--json", metavar="FILE", help="write the result as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.steps < 2:
        raise BadInputError(f"--steps must be at least 2, got {args.steps}")
    target = load_target(args.model, args.size, args.batch_size, args.seq_len)
    lint = LintConfig(dataset_size=args.dataset_size, max_params_per_sample=args.max_params_per_sample)
    health = check_health(target, lint=lint, probe=ProbeConfig(steps=args.steps), run_probe=not args.no_probe)
    console = Console()
    table = Table(title=f"health of {target.name} ({target.size}), batch {target.batch_size}")
    for col in ("rule", "severity", "module", "finding", "fix"):
        table.add_column(col)
    by_rule: dict[str, list[dict]] = {}
    for f in health["lint"]:
        by_rule.setdefault(f["rule"], []).append(f)
    for rule, found in by_rule.items():  # one row per rule; the JSON keeps every module
        first = found[0]
        where = (first["module"] or "(model)") + (f" (+{len(found) - 1} more)" if len(found) > 1 else "")
        table.add_row(rule, first["severity"], where, first["message"], first["fix"])
    if not health["lint"]:
        table.add_row("—", "—", "—", "no lint findings", "—")
    console.print(table)
    probe = health["probe"]
    if probe:
        verdict = "[green]healthy" if probe["healthy"] else "[red]unhealthy"
        console.print(
            f"probe: {verdict}[/] — loss {probe['loss_first']:.4g} → {probe['loss_last']:.4g}; "
            f"vanishing: {', '.join(probe['vanishing']) or 'none'}; exploding: {', '.join(probe['exploding']) or 'none'}; "
            f"diverging lr: {probe['diverging_lr'] if probe['diverging_lr'] is not None else 'none in range'}"
        )
        for note in probe["notes"]:
            console.print(f"  note: {note}")
    if args.json:
        write_json(args.json, {"schema_version": 1, "kind": "health", "model": target.name, "size": target.size,
                               "batch_size": target.batch_size, "health": health})  # fmt: skip
    problems = [f for f in health["lint"] if f["severity"] != "info"]
    return 1 if problems or (probe and not probe["healthy"]) else 0
