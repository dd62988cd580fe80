"""`benchbench estimate MODEL --hardware NAME`: training cost, memory fit and inference cost on a device; for a
decoder config (`hf:DIR`, `hf:llama`), parameters, MACs and KV bytes per token counted on the meta device and an
estimated deployment plan per GPU (`benchbench.estimate.planner`)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

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
    p.add_argument("--hardware", default=None,
                   help="hardware key (benchbench list --hardware) or 'cpu'; optional for a decoder config, whose "
                   "deployment plan then covers every GPU of the table")  # fmt: skip
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
    p.add_argument("--context", type=positive_int, default=None,
                   help="decoders: tokens per sequence (prompt + output) for the KV plan (default min(positions, 4096))")  # fmt: skip
    p.add_argument("--prompt-tokens", type=positive_int, default=512,
                   help="decoders: prompt length for TTFT and MACs per prefill token (default 512)")  # fmt: skip
    add_json_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from benchbench.core.errors import BadInputError

    if args.train_samples is not None and args.train_samples < 1:
        raise BadInputError(f"--train-samples must be a positive integer, got {args.train_samples}")
    check_output(args.json, what="--json file")
    say = print if args.json != "-" else lambda *a: print(*a, file=sys.stderr)
    decoder = _decoder_plan(args, say)
    if args.hardware is None and decoder is None:
        raise BadInputError("--hardware NAME is required (benchbench list --hardware); only a decoder config "
                            "(hf:DIR, hf:llama) is planned over every GPU without it")  # fmt: skip
    est = _profile_estimate(args, say) if args.hardware is not None else None
    out = dict(est or {"model": args.model})
    if decoder is not None:
        out.update(decoder)
    emit_json(args.json, out)
    return 0


def _decoder_plan(args: argparse.Namespace, say: Callable[..., None]) -> dict[str, Any] | None:
    """Counts on the meta device and a plan per GPU for an `hf:` decoder config; None for anything else."""
    from benchbench.core.units import fmt_bytes

    if not args.model.startswith("hf:") or (args.task not in (None, "causal-lm")):
        return None
    from benchbench.estimate.decoder_counts import NotADecoder, count_decoder
    from benchbench.estimate.hardware import get_hardware, load_table
    from benchbench.estimate.planner import ASSUMPTIONS, plan_all

    dtype = args.dtype.removeprefix("torch.")
    try:
        c = count_decoder(args.model.removeprefix("hf:"), task=args.task, prompt_tokens=args.prompt_tokens,
                          context=args.context, dtype=dtype)  # fmt: skip
    except NotADecoder:
        return None
    table = {args.hardware: get_hardware(args.hardware, args.hardware_file)} if args.hardware else load_table(
        args.hardware_file, with_cpu=False)  # fmt: skip
    plans = plan_all(c, table, context=c.decode_context, prompt_tokens=args.prompt_tokens)
    say(f"{c.model}: {c.params:,} parameters ({c.config_source}; counted on the {c.counted_on})")
    say(f"  MACs per prefill token ({c.prompt_tokens}-token prompt): {c.macs_per_prefill_token:,.0f}; per decode "
        f"token at context {c.decode_context}: {c.macs_per_decode_token:,}")  # fmt: skip
    say(f"  KV cache: {c.kv_bytes_per_token:,} bytes per token at {dtype} ({c.shape.layers} layers × "
        f"{c.shape.kv_heads} KV heads × head dim {c.shape.head_dim} × 2 (K and V))")  # fmt: skip
    say(f"  deployment plan, ESTIMATED (roofline floors at datasheet peak), context {c.decode_context}, prompt "
        f"{args.prompt_tokens}:")  # fmt: skip
    for pl in plans:
        if not pl.fits:
            say(f"    {pl.hardware:<10} {pl.note}")
            continue
        cost_in = "no price" if pl.usd_per_million_input is None else f"${pl.usd_per_million_input:.3f}"
        cost_out = "no price" if pl.usd_per_million_output is None else f"${pl.usd_per_million_output:.3f}"
        say(f"    {pl.hardware:<10} TP {pl.tensor_parallel}: {pl.max_concurrency} seqs x {pl.context} "
            f"({pl.kv_capacity_tokens:,} KV tokens, weights {fmt_bytes(pl.weight_bytes_per_device)}/device); TTFT "
            f"{pl.ttft_ms:.1f} ms, TPOT {pl.tpot_ms_single:.2f} ms (1 seq) / {pl.tpot_ms_at_max:.2f} ms (all); "
            f"{pl.decode_tokens_per_s_per_device:,.0f} decode tok/s/device; per 1M in {cost_in}, out {cost_out}")  # fmt: skip
    return {
        "decoder": {**asdict(c), "weight_bytes": c.weight_bytes},
        "deployment_plan": {
            "kind": "estimated",
            "assumptions": ASSUMPTIONS,
            "plans": [p.to_dict() for p in plans],
        },
    }


def _profile_estimate(args: argparse.Namespace, say: Callable[..., None]) -> dict[str, Any] | None:
    """The profile-based estimate on `--hardware`; None (with a line) for a model too big to build here."""
    from benchbench.core.units import fmt_bytes, fmt_hours
    from benchbench.estimate.cost import DEFAULT_UTILIZATION, estimate, facts_from_profile
    from benchbench.estimate.hardware import get_hardware
    from benchbench.measure.profile import profile
    from benchbench.measure.timing import TimingConfig
    from benchbench.sources.hf import TooBigToBuild
    from benchbench.sources.target import default_size

    hw = get_hardware(args.hardware, args.hardware_file)
    try:
        prof = profile(
            args.model,
            size=args.size or default_size(args.model, "base"),
            task=args.task,
            batch_size=1,
            timing=TimingConfig(warmup=1, min_repeats=3, min_time_s=0.0),
            train_step_peak=False,
            layers=True,
        )
    except TooBigToBuild as exc:
        say(f"  not built here, so no profile-based estimate: {exc}")
        return None
    est = estimate(
        facts_from_profile(prof), hw, train_samples=args.train_samples, epochs=args.epochs,
        utilization=DEFAULT_UTILIZATION if args.utilization is None else args.utilization, batch_size=args.batch_size,
        latency_budget_ms=args.latency_budget_ms, dtype=args.dtype,
    )  # fmt: skip
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
    return est
