"""`benchbench estimate MODEL --hardware NAME`: training cost, memory fit and inference cost on a device."""

from __future__ import annotations

import argparse
import sys

from benchbench.cli.common import (
    MODEL_HELP,
    TASK_HELP,
    add_json_option,
    add_trust_argument,
    check_output,
    emit_json,
    fraction,
    positive_float,
    positive_int,
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("estimate", help="training GPU-hours/cost, memory fit, inference latency and cost")
    p.add_argument("model", help=MODEL_HELP)
    p.add_argument("--task", default=None, help=TASK_HELP)
    add_trust_argument(p)
    p.add_argument("--hardware", required=True, help="hardware key (benchbench list --hardware) or 'cpu'")
    p.add_argument("--hardware-file", help="a TOML file adding or overriding hardware entries")
    p.add_argument("--size", default=None, help="zoo size preset (default base); not for library models")
    p.add_argument("--train-samples", type=positive_int, help="samples per epoch")
    p.add_argument("--epochs", type=positive_float, default=1.0)
    p.add_argument("--utilization", type=fraction, default=None, help="MFU in (0, 1]; default 0.4")
    p.add_argument(
        "--batch-size", type=positive_int, default=32, help="training batch for the memory-fit check"
    )
    p.add_argument("--dtype", default="bfloat16", help="compute dtype for peaks (default bfloat16)")
    p.add_argument(
        "--latency-budget-ms", type=positive_float, help="find the cheapest device meeting this batch latency"
    )
    add_json_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from benchbench.core.errors import BadInputError
    from benchbench.core.units import fmt_bytes, fmt_hours
    from benchbench.estimate.cost import DEFAULT_UTILIZATION, estimate, facts_from_profile
    from benchbench.estimate.hardware import get_hardware
    from benchbench.measure.profile import profile
    from benchbench.measure.timing import TimingConfig

    if args.train_samples is not None and args.train_samples < 1:
        raise BadInputError(f"--train-samples must be a positive integer, got {args.train_samples}")
    check_output(args.json, what="--json file")
    hw = get_hardware(args.hardware, args.hardware_file)
    from benchbench.sources.target import default_size

    prof = profile(
        args.model,
        size=args.size or default_size(args.model, "base"),
        task=args.task,
        batch_size=1,
        timing=TimingConfig(warmup=1, min_repeats=3, min_time_s=0.0),
        train_step_peak=False,
        layers=True,
    )
    est = estimate(
        facts_from_profile(prof), hw, train_samples=args.train_samples, epochs=args.epochs,
        utilization=DEFAULT_UTILIZATION if args.utilization is None else args.utilization, batch_size=args.batch_size,
        latency_budget_ms=args.latency_budget_ms, dtype=args.dtype,
    )  # fmt: skip
    emit_json(args.json, est)
    say = print if args.json != "-" else lambda *a: print(*a, file=sys.stderr)
    say(
        f"{prof.model} ({prof.size}) on {hw.name}, {args.dtype}, utilisation {est['assumptions']['utilization']}"
    )
    tr = est.get("training")
    if tr:
        cost = f"${tr['cost_usd']:,.2f}" if tr["cost_usd"] is not None else "no price"
        say(
            f"  training: {tr['training_flops']:.3e} FLOPs → {fmt_hours(tr['gpu_hours'])} GPU time ({tr['gpu_hours']:.2f} GPU-h), {cost}"
        )
    m = est["memory"]
    if m["fits"] is None:
        say("  memory: activations not measured")
    else:
        say(f"  memory at batch {m['batch_size']}: {fmt_bytes(int(m['total_bytes']))} "
              f"({'fits' if m['fits'] else 'does NOT fit'}); largest batch {m['max_batch_size']}")  # fmt: skip
    for e in est["inference"]:
        cost = f"${e['cost_per_million_usd']:.3f}/1M" if e["cost_per_million_usd"] is not None else "no price"
        say(f"  batch {e['batch_size']:>4}: {e['latency_ms']:.3f} ms ({e['source']}), "
              f"{e['throughput_per_s']:,.0f}/s, {cost}, {e['bound']}-bound")  # fmt: skip
    b = est.get("budget")
    if b:
        c = b["cheapest"]
        say(f"  cheapest within {b['latency_budget_ms']} ms: " + (
            f"{c['hardware']} at batch {c['batch_size']}, ${c['cost_per_million_usd']:.3f}/1M" if c else "none"))  # fmt: skip
    return 0
