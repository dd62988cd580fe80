"""`benchbench health MODEL`: the architecture lint and the trainability probe. Exit 1 when either finds a problem."""

from __future__ import annotations

import argparse
from typing import Any

from benchbench.cli.common import (
    add_json_option,
    add_model_arguments,
    check_output,
    console,
    emit_json,
    positive_float,
    positive_int,
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("health", help="lint an architecture and probe its trainability")
    add_model_arguments(p)
    p.add_argument("--threads", type=positive_int, default=None, help="torch intra-op threads (CPU)")
    p.add_argument("--batch-size", type=positive_int, default=None,
                   help="per-device training batch size (default 8; a factory returning inputs: theirs)")  # fmt: skip
    p.add_argument("--seq-len", type=positive_int, default=None)
    p.add_argument(
        "--steps", type=positive_int, default=None, help="most probe steps per learning rate (default 30)"
    )
    p.add_argument(
        "--budget", type=positive_float, default=None, help="seconds the probe may take (default 60)"
    )
    p.add_argument(
        "--dataset-size",
        type=positive_int,
        default=None,
        help="training samples, for the params-per-sample rule",
    )
    p.add_argument(
        "--max-params-per-sample",
        type=positive_float,
        default=None,
        help="params-per-sample limit (default 100)",
    )
    p.add_argument("--no-probe", action="store_true", help="lint only")
    add_json_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import dataclasses

    from benchbench.core.errors import BadInputError
    from benchbench.health.check import check_health
    from benchbench.health.lint import LintConfig
    from benchbench.health.probe import ProbeConfig
    from benchbench.health.records import HealthResult
    from benchbench.measure.memory import check_batch_fits
    from benchbench.measure.sweep import num_threads
    from benchbench.sources.target import load_target, requested_batch

    check_output(args.json, what="--json file")
    if args.steps is not None and args.steps < 2:
        raise BadInputError(f"--steps must be at least 2, got {args.steps}")
    with num_threads(args.threads):
        batch = requested_batch(args.model, args.batch_size, 8)
        check_batch_fits(args.model, args.size, batch or 1, args.seq_len, task=args.task)
        target = load_target(args.model, args.size, batch, args.seq_len, task=args.task)
        lint = LintConfig(dataset_size=args.dataset_size)
        if args.max_params_per_sample is not None:
            lint = dataclasses.replace(lint, max_params_per_sample=args.max_params_per_sample)
        probe = ProbeConfig()
        if args.steps is not None:
            probe = dataclasses.replace(probe, steps=args.steps, min_steps=min(probe.min_steps, args.steps))
        if args.budget is not None:
            probe = dataclasses.replace(probe, budget_s=args.budget)
        health = check_health(target, lint=lint, probe=probe, run_probe=not args.no_probe)
    print_health(target.name, target.size, target.batch_size, health, console(args))
    emit_json(args.json, HealthResult(target.name, target.size, target.batch_size, health))
    problems = [f for f in health.lint if f.severity != "info"]
    return 1 if problems or (health.probe and health.probe.verdict == "unhealthy") else 0


def print_health(name: str, size: str, batch_size: int, health: Any, out: Any) -> None:
    from rich.table import Table

    table = Table(title=f"health of {name} ({size}), batch {batch_size}")
    for col in ("rule", "severity", "module", "finding", "fix"):
        table.add_column(col)
    by_rule: dict[str, list] = {}
    for f in health.lint:
        by_rule.setdefault(f.rule, []).append(f)
    for rule, found in by_rule.items():  # one row per rule; the JSON keeps every module
        first = found[0]
        where = (first.module or "(model)") + (f" (+{len(found) - 1} more)" if len(found) > 1 else "")
        table.add_row(rule, first.severity, where, first.message, first.fix)
    if not health.lint:
        table.add_row("—", "—", "—", "no lint findings", "—")
    out.print(table)
    probe = health.probe
    if probe:
        out.print(probe_summary(probe))
        for note in probe.notes:
            out.print(f"  note: {note}")
    elif health.probe_skipped:
        out.print(f"probe: not run — {health.probe_skipped}")


def probe_summary(probe: Any) -> Any:
    """One line: the verdict, the loss and the learning rate, what was flagged."""
    from rich.text import Text

    colour = {"healthy": "green", "unhealthy": "red"}.get(probe.verdict, "yellow")
    worked = next((a for a in probe.attempts if a.fell), None)
    lr = f"fell at lr {worked.lr:g} in {len(worked.losses)} steps" if worked else "fell at no lr tried"
    ladder = " → ".join(f"{x:g}" for x in probe.ladder)
    diverging = "none found" if probe.diverging_lr is None else f"{probe.diverging_lr:.2g}"
    loss = f"{probe.loss_first:.4g} → {probe.loss_last:.4g}" if probe.loss_first is not None else "not finite"
    flagged = ", ".join(f"{f.layer} {f.kind} ({'inf' if f.ratio is None else f'{f.ratio:.1e}'})"
                        for f in probe.flags[:3]) or "none"  # fmt: skip
    more = f" (+{len(probe.flags) - 3} more)" if len(probe.flags) > 3 else ""
    return Text.assemble(
        "probe: ", (probe.verdict, colour),
        f" — {probe.loss} on {', '.join(probe.loss_outputs)}: {loss}, {lr} (ladder {ladder}, "
        f"{probe.warmup_steps} warm-up steps); gradient flags: {flagged}{more}; diverging lr: {diverging}; "
        f"{probe.seconds:.1f} s of a {probe.budget_s:g} s budget",
    )  # fmt: skip
