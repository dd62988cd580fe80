"""`benchbench swap MODEL --ops attention,layernorm`: swap ops for fused kernels, check parity and speed."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

from benchbench.core.device import parse_device
from benchbench.core.dtypes import parse_dtype
from benchbench.core.errors import BadInputError
from benchbench.core.files import write_json
from benchbench.core.target import load_target
from benchbench.kernelbench.swap_check import SwapRun, check_swap
from benchbench.kernels.registry import get_kernel, get_op
from benchbench.kernels.swap import INTERCEPTS


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("swap", help="route a model's ops to fused kernels; check parity and speed")
    p.add_argument("model", help="zoo name or pkg.module:factory")
    p.add_argument("--ops", required=True, help="comma-separated ops: attention,layernorm,rmsnorm,gelu,...")
    p.add_argument("--impl", default="triton", help="implementation to swap in (default triton)")
    p.add_argument("--size", default="tiny")
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", default="float32", help="float32, bfloat16 or float16 (autocast)")
    p.add_argument("--rounds", type=int, default=3, help="alternating timing rounds before/after")
    p.add_argument("--intercept", default="patch", choices=INTERCEPTS,
                   help="how direct SDPA calls are caught: patch F and bound names (cheap) or a TorchFunctionMode")  # fmt: skip
    p.add_argument("--json", metavar="FILE", help="write the swap result as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    device = parse_device(args.device)
    dtype = parse_dtype(args.dtype)
    ops = [o.strip() for o in args.ops.split(",") if o.strip()]
    if not ops:
        raise BadInputError("--ops is empty; give e.g. --ops attention,layernorm")
    for op in ops:
        get_kernel(get_op(op).name, args.impl)  # unknown op or implementation: one clear error
    target = load_target(args.model, args.size, args.batch_size)
    result = check_swap(target, ops, args.impl, device=str(device), dtype=dtype, rounds=args.rounds,
                        intercept=args.intercept)  # fmt: skip
    print_swap(result, Console(width=max(Console().width, 120)))
    if args.json:
        write_json(args.json, result)
    return 0 if result.ok else 1


def print_swap(r: SwapRun, console: Console) -> None:
    title = f"swap {r.model} ({r.size}), batch {r.batch_size}, {r.device}, {r.dtype}: {', '.join(r.ops)}"
    sites = Table(title=title)
    for col in ("call site", "op", "impl", "status", "calls", "why not swapped"):
        sites.add_column(col)
    for s in r.swap["sites"]:
        why = "; ".join(f"{reason} (×{n})" for reason, n in s["reasons"].items())
        sites.add_row(s["site"], s["op"], s["impl"], s["status"], f"{s['swapped_calls']}/{s['calls']}", why)
    console.print(sites)
    for op, c in r.swap["counts"].items():
        console.print(f"{op}: {c['swapped']} of {c['sites']} call sites swapped "
                      f"({c['fallback']} fell back, {c['not_called']} not called)")  # fmt: skip
    for note in r.swap["notes"]:
        console.print(f"[yellow]note: {note}")
    p = r.parity
    console.print(f"parity: max abs err {p.max_abs_err:.3g}, max rel err {p.max_rel_err:.3g} "
                  f"(tolerance {p.tolerance:g} for {r.dtype}) over {p.outputs} outputs: {p.verdict.upper()}")  # fmt: skip
    s = r.speed
    if s.status == "timed":
        console.print(f"speed: p50 {s.before_p50_ms:.3f} ms before, {s.after_p50_ms:.3f} ms after "
                      f"= {s.speedup:.2f}× ({s.samples} samples; {s.note})")  # fmt: skip
    else:
        console.print(f"speed: {s.status} ({s.note})")
