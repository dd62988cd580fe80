"""`benchbench profile MODEL`: parameters, FLOPs/MACs, memory, layer table, diagram and latency sweeps."""

from __future__ import annotations

import argparse
from typing import Any

from benchbench.cli.common import (
    add_json_option,
    add_model_arguments,
    check_output,
    check_output_dir,
    console,
    emit_json,
    nonnegative_int,
    positive_int,
)
from benchbench.measure.records import SWEEP_MODES


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("profile", help="profile one model: parameters, MACs, memory, layers, latency")
    add_model_arguments(p)
    p.add_argument("--batch-size", default=None,
                   help="one batch size, or a list to sweep: 1,8,32 (default 1; a factory returning inputs: "
                        "their batch, other batches made by repeating them along their batch axis)")  # fmt: skip
    p.add_argument("--seq-len", default=None, help="sequence length(s) for sequence models: 128 or 128,512")
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", default="float32", help="float32, bfloat16, float16, or a list to sweep")
    p.add_argument(
        "--mode", default="eval", choices=SWEEP_MODES, help="what the sweep times (train-step: fwd+bwd+AdamW)"
    )
    p.add_argument("--threads", type=positive_int, default=None, help="torch intra-op threads (CPU)")
    p.add_argument("--layers", action="store_true", help="print the layer table")
    p.add_argument("--depth", type=nonnegative_int, default=None, help="layer table depth (implies --layers)")
    p.add_argument("--diagram", action="store_true", help="print the Mermaid diagram of the top-level blocks")
    p.add_argument("--no-memory", action="store_true", help="skip the memory measurements")
    p.add_argument("--trace", metavar="DIR", default=None,
                   help="also write a Chrome/Perfetto trace of 3 forward passes (and a CUDA memory snapshot on GPUs) into DIR")  # fmt: skip
    add_json_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from benchbench.core.device import check_dtype, parse_device
    from benchbench.core.dtypes import parse_dtype
    from benchbench.measure.memory import check_batch_fits
    from benchbench.measure.sweep import num_threads, parse_int_list
    from benchbench.sources.hf import TooBigToBuild
    from benchbench.sources.target import load_target, requested_batch

    check_output(args.json, what="--json file")
    check_output_dir(args.trace, what="--trace folder")
    batch_sizes = parse_int_list(args.batch_size, "--batch-size") or [None]
    seq_lens = parse_int_list(args.seq_len, "--seq-len")
    dtypes = [d.strip() for d in args.dtype.split(",") if d.strip()] or ["float32"]
    out = console(args)
    seq_len = seq_lens[0] if seq_lens else None
    check_dtype(parse_device(args.device), parse_dtype(dtypes[0]))
    with num_threads(args.threads):
        first = requested_batch(args.model, batch_sizes[0], 1)
        too_big = None
        try:
            check_batch_fits(args.model, args.size, max(b or 1 for b in batch_sizes), seq_len, task=args.task)
            target = load_target(args.model, args.size, first, seq_len, task=args.task)
        except TooBigToBuild as exc:  # counted on the meta device instead (below, outside this handler)
            too_big = exc
        if too_big is not None:
            from benchbench.estimate.counted import counted_profile

            r = counted_profile(args.model, too_big, task=args.task, seq_len=seq_len, dtype=dtypes[0])[1]
        else:
            r = _measure(args, target, batch_sizes, seq_lens, dtypes)
    print_profile(r, out)
    if (args.layers or args.depth is not None) and r.layers:
        out.print(layer_table(r.layers, depth=args.depth, title=f"{r.model} layers (MACs inclusive)"))
    if args.diagram and r.diagram:
        out.print(r.diagram, markup=False, highlight=False)
    if r.sweeps:
        print_sweeps(r.sweeps, out)
    if r.stages.get("trace") is not None:
        print_trace(r.stages["trace"], out)
    emit_json(args.json, r)
    return 0 if r.ok else 1


def _measure(
    args: argparse.Namespace, target: Any, batch_sizes: list, seq_lens: list | None, dtypes: list[str]
) -> Any:
    """Profile the built target, its sweeps and trace when asked, and the machine's noise over the timings."""
    import torch

    from benchbench.core.noise import machine_state, measured_noise
    from benchbench.measure.profile import profile_target
    from benchbench.measure.sweep import sweep

    start = machine_state()
    r = profile_target(target, device=args.device, dtype=dtypes[0], memory=not args.no_memory)
    if len(batch_sizes) > 1 or len(seq_lens or []) > 1 or len(dtypes) > 1 or args.mode != "eval":
        r.sweeps = sweep(target, batch_sizes=[b or target.batch_size for b in batch_sizes], seq_lens=seq_lens, dtypes=dtypes, mode=args.mode,
                         device=args.device, threads=args.threads)  # fmt: skip
    timed = [x for x in [r.latency] + [s.latency for s in r.sweeps or []] if x is not None]
    r.noise = measured_noise(start, timed, torch.get_num_threads())
    if args.trace:
        from benchbench.measure.trace import capture_trace

        r.stages["trace"] = capture_trace(target, args.trace, device=args.device, dtype=dtypes[0])
    return r


def print_profile(r: Any, out: Any) -> None:
    from rich.table import Table
    from rich.text import Text

    from benchbench.core.units import fmt_bytes, fmt_count, fmt_ms

    table = Table(
        title=f"{r.model} ({r.size}), batch {r.batch_size}, {r.device}, {r.dtype}", show_header=False
    )
    params, flops, lat, mem = r.params, r.flops, r.latency, r.memory
    table.add_row("parameters", f"{params.total:,}" if params else "—")
    table.add_row("parameter bytes", fmt_bytes(params.bytes if params else None))
    table.add_row("MACs (1 per multiply-add)", fmt_count(flops.macs if flops else None))
    table.add_row("FLOPs (2 per multiply-add)", fmt_count(flops.flops if flops else None))
    if flops:
        table.add_row("elementwise FLOPs (norms, softmax, activations)", fmt_count(flops.elementwise_flops))
        checks = flops.counters
        if checks is not None and checks.fvcore_macs is not None:
            table.add_row("cross-check: fvcore MACs", fmt_count(checks.fvcore_macs))
        if checks is not None and checks.torch_flop_counter_flops is not None:
            table.add_row(
                "cross-check: torch FlopCounterMode FLOPs", fmt_count(checks.torch_flop_counter_flops)
            )
        if flops.uncounted_ops:
            table.add_row("uncounted ops", ", ".join(f"{k}×{v}" for k, v in flops.uncounted_ops.items()))
    if mem:
        table.add_row(f"train state ({mem.plan}): params / grads / optimizer",
                      " / ".join(fmt_bytes(x) for x in (mem.param_bytes, mem.grad_bytes, mem.optimizer_bytes)))  # fmt: skip
        table.add_row("activations saved for backward", fmt_bytes(mem.activation_bytes_train))
        table.add_row("peak inference / train step",
                      f"{fmt_bytes(mem.peak_bytes_inference)} / {fmt_bytes(mem.peak_bytes_train_step)}")  # fmt: skip
    if lat:
        table.add_row(
            "latency p50 / p90 / p99 ms", " / ".join(fmt_ms(x) for x in (lat.p50_ms, lat.p90_ms, lat.p99_ms))
        )
        table.add_row("p50 uncertainty", lat.uncertainty())
        table.add_row("repeats, threads", f"{lat.n}, {lat.threads}")
        table.add_row("throughput", f"{fmt_count(lat.throughput_per_s)} samples/s")
    if r.counted is not None:
        _counted_rows(table, r.counted)
    for e in r.errors:
        table.add_row(Text(f"failed: {e.stage}", style="red"), f"{e.type}: {e.error}")
    if r.noise is not None:
        table.add_row("noise", r.noise.line())
    out.print(table)


def _counted_rows(table: Any, c: Any) -> None:
    """What a profile of a model too big to build counted instead of measuring, and why."""
    from rich.text import Text

    from benchbench.core.units import fmt_count

    table.add_row(
        Text("COUNTED, not measured", style="yellow"), f"on the {c.counted_on}: the figures above are counts"
    )
    table.add_row("latency, memory", f"not measured: {c.not_measured}")
    if c.macs_per_prefill_token is None:
        return
    table.add_row("causal LM parameters (with its head)", f"{c.causal_lm_params:,}")
    table.add_row(
        f"MACs per prefill token ({c.prompt_tokens}-token prompt)", fmt_count(c.macs_per_prefill_token)
    )
    table.add_row(f"MACs per decode token at context {c.decode_context}", fmt_count(c.macs_per_decode_token))
    table.add_row(f"KV cache bytes per token ({c.kv_dtype})", f"{c.kv_bytes_per_token:,}")


def print_trace(t: Any, out: Any) -> None:
    """Where the trace is, and the ops with the most self time in it."""
    from rich.table import Table

    out.print(f"trace of {t.steps} forward passes: {t.path} (open in ui.perfetto.dev)", soft_wrap=True)
    table = Table(title="ops with the most self time in the trace")
    for col in ("op", "calls", "self time ms"):
        table.add_column(col)
    for op in t.top_ops[:5]:
        table.add_row(op.name, str(op.calls), f"{op.self_time_ms:.3f}")
    out.print(table)
    if t.memory_snapshot:
        out.print(
            f"CUDA memory snapshot: {t.memory_snapshot} (open in pytorch.org/memory_viz)", soft_wrap=True
        )


def print_sweeps(points: list, out: Any) -> None:
    from rich.table import Table
    from rich.text import Text

    from benchbench.core.units import fmt_ci_ms, fmt_ms

    table = Table(title="latency sweep")
    for col in ("mode", "dtype", "batch", "seq", "p50 ms", "95% CI ms", "p90 ms", "p99 ms", "n", "samples/s"):
        table.add_column(col, justify="left" if col in ("mode", "dtype") else "right")
    for s in points:
        head = [s.mode, s.dtype, str(s.batch_size), str(s.seq_len or "—")]
        lat = s.latency
        if lat is None:
            table.add_row(*head, Text(str(s.error), style="red"), "", "", "", "", "")
        else:
            table.add_row(*head, fmt_ms(lat.p50_ms), fmt_ci_ms(lat.ci95_ms), fmt_ms(lat.p90_ms), fmt_ms(lat.p99_ms), str(lat.n),
                          f"{lat.throughput_per_s or 0:.1f}")  # fmt: skip
    out.print(table)


def layer_table(rows: list, *, depth: int | None = None, title: str = "layers") -> Any:
    """A rich Table of the layer rows up to `depth`, names indented by depth."""
    from rich.table import Table

    from benchbench.core.units import fmt_count
    from benchbench.measure.layers import collapse

    table = Table(title=title)
    for col, justify in [("layer", "left"), ("type", "left"), ("input", "left"), ("output", "left"),
                         ("params", "right"), ("MACs", "right")]:  # fmt: skip
        table.add_column(col, justify=justify)
    for r in collapse(rows, depth):
        table.add_row("  " * r.depth + (r.name.rsplit(".", 1)[-1] if r.name else "(model)"), r.type,
                      _shapes(r.input_shapes), _shapes(r.output_shapes), f"{r.params:,}",
                      fmt_count(r.macs) if r.calls else "not called")  # fmt: skip
    return table


def _shapes(shapes: list[list[int]], limit: int = 3) -> str:
    text = ", ".join("×".join(str(d) for d in s) or "scalar" for s in shapes[:limit])
    return text + (f" (+{len(shapes) - limit})" if len(shapes) > limit else "")
